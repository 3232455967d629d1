"""Pieces of hostile checkpoints shared by the tests."""

from __future__ import annotations

import os
from pathlib import Path


class CodePayload:
    """Unpickling this runs a shell command that creates ``marker``: code execution made visible."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))
