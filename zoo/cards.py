"""Model cards: ``model_cards/<name>.md``, YAML front matter (Hub model-card metadata) + text.

Cards live at the repository root in ``model_cards/``; wheels carry them as ``zoo/model_cards``.
The card is copied into every converted folder as ``README.md``, so a pushed folder has it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).parent


def cards_dir() -> Path:
    """The folder holding the cards (inside the package for wheels, the repo root otherwise)."""
    packaged = _PACKAGE / "model_cards"
    return packaged if packaged.is_dir() else _PACKAGE.parent / "model_cards"


def card_path(card: str) -> Path:
    return cards_dir() / card


def read_card(card: str) -> str | None:
    """The card's text, or None when the file is missing."""
    path = card_path(card)
    return path.read_text(encoding="utf-8") if path.is_file() else None


def card_metadata(text: str) -> dict[str, Any]:
    """The YAML front matter of a card as a dict (huggingface_hub's parser)."""
    from huggingface_hub import ModelCard

    return ModelCard(text, ignore_metadata_errors=False).data.to_dict()


def generic_card(name: str, family: str, task: str, provenance: str) -> str:
    """A minimal card for a model that is not in the registry (``zoo import`` of an arbitrary file)."""
    return (
        "---\n"
        "library_name: gan-zoo\n"
        f"tags: [gan-zoo, {family}, {task}]\n"
        "---\n\n"
        f"# {name}\n\n"
        f"Converted by gan-zoo from {provenance}. Licence: that of the original file (unknown to gan-zoo).\n"
    )


def card_text(info) -> str | None:
    """The model card of a registry entry (``model_cards/<card>``), or None if it is missing."""
    return read_card(info.card)
