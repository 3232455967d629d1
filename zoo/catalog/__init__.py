"""Built-in registry entries, one module per family. Importing this package registers them."""

from . import esrgan  # noqa: F401
from . import pix2pix  # noqa: F401
from . import cyclegan  # noqa: F401
