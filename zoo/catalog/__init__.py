"""Built-in registry entries, one module per family (``zoo.families``). Importing this package registers them."""

import importlib

from ..families import catalog_modules

for _module in catalog_modules():
    importlib.import_module(f"{__name__}.{_module}")
