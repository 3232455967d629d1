"""Built-in registry entries, one module per family. Importing this package registers them."""

from . import esrgan  # noqa: F401
