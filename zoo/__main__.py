"""``python -m zoo`` (and ``torchrun -m zoo train ...``): the ``zoo`` command."""

import sys

from .cli import main

sys.exit(main())
