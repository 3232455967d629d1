"""The model card of a trained export: data, steps, wall time, hardware, options, quality figures.

It is written into the export folder as ``README.md`` (the Hub's card), with Hub front matter.
The weights' licence is that of the training data (``zoo.train.datasets`` knows it for the
offline sets; a user folder's images keep their own): a conservative choice, stated in the card.
"""

from __future__ import annotations

import shlex
from typing import Any

from .recipe import Recipe


HUB_LICENCES = {"MIT": "mit", "Apache-2.0": "apache-2.0", "BSD-3-Clause": "bsd-3-clause", "BSD-2-Clause": "bsd-2-clause"}
LICENCE_LINKS = {"GPL-2.0-or-later": "https://www.gnu.org/licenses/old-licenses/gpl-2.0.html"}


def front_matter_licence(licence: str) -> list[str]:
    """The Hub card's licence lines: its own id where the Hub has one, else "other" with name and link."""
    if licence in HUB_LICENCES:
        return [f"license: {HUB_LICENCES[licence]}"]
    lines = ["license: other", f"license_name: {licence.lower()}"]
    if licence in LICENCE_LINKS:
        lines.append(f"license_link: {LICENCE_LINKS[licence]}")
    return lines


def licence_of(sources: list[dict[str, Any]]) -> str:
    found = sorted({s["licence"] for s in sources})
    return found[0] if len(found) == 1 else " AND ".join(found) if found else "unknown"


def reproduce_command(recipe: Recipe, run_name: str) -> str:
    """The ``zoo train`` command line that makes this run again (non-default options only)."""
    o = recipe.options
    defaults = type(o)()
    words = ["zoo", "train", recipe.name, run_name]
    flags = {"data": "--data", "data_b": "--data-b", "eval_data": "--eval-data", "steps": "--steps", "batch": "--batch",
             "seed": "--seed"}
    for field, flag in flags.items():
        value = getattr(o, field)
        if value != getattr(defaults, field) or field in ("data", "steps"):
            words += [flag, str(value)]
    for key, value in o.as_json().items():
        if key in flags or key in ("save_every", "sample_every") or value == getattr(defaults, key):
            continue
        words += ["--set", f"{key}={value}"]
    return " ".join(shlex.quote(w) for w in words)


PIPELINE_TAGS = {"generate": "unconditional-image-generation", "translate": "image-to-image", "upscale": "image-to-image",
                 "inpaint": "image-to-image"}
USE_COMMANDS = {"generate": "zoo generate OUT.png --seed 1", "translate": "zoo translate IN.jpg OUT.png",
                "upscale": "zoo upscale IN.jpg OUT.png", "inpaint": "zoo inpaint IN.jpg MASK.png OUT.png"}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def training_card(recipe: Recipe, name: str, provenance: dict[str, Any], metrics: dict[str, Any], parameters: int = 0) -> str:
    sources = provenance["data"]
    licence = licence_of(sources)
    minutes = provenance["wall_seconds"] / 60
    title, entry = name, name.partition("@")[0]
    try:  # a registry entry's own title (the bundled demo models are trained under their entry's name)
        from .. import registry

        title = registry.get(entry).title
        ref = f'"{entry}"'
    except Exception:  # noqa: BLE001  (any other name: the name itself, loaded from its folder)
        entry = "RUN/model/" + name.partition("@")[2] if "@" in name else "RUN/model"
        ref = f'"{entry}"'
    lines = [
        "---",
        *front_matter_licence(licence),
        "library_name: gan-zoo",
        f"pipeline_tag: {PIPELINE_TAGS.get(recipe.task, 'image-to-image')}",
        f"tags: [gan-zoo, {recipe.family}, {recipe.task}, trained-with-gan-zoo]",
        "---",
        "",
        f"# {title}",
        "",
        f"Trained with gan-zoo's `{recipe.name}` recipe ({recipe.summary}). These are small demo-quality "
        "weights trained on a CPU with offline data: they show the task working, not the quality of the "
        "published models.",
        "",
        "## Training",
        "",
    ]
    for s in sources:
        lines.append(f"- Data: `{s['data']}`: {s['description']} (licence: {s['licence']}).")
    lines += [
        f"- Steps: {provenance['steps']:,} at a global batch of {recipe.options.batch}, crops of {recipe.options.size} px.",
        f"- Wall time: {minutes:.1f} min on {provenance['hardware']} (torch {provenance['torch']}).",
        f"- Weights licence: {licence}, that of the training data.",
    ]
    if parameters:
        lines.append(f"- Parameters: {parameters:,} (the exported network{'s' if '@' in name else ''}).")
    lines += [f"- {note}" for note in recipe.card_notes()]
    lines += ["", "Options:", "", "| option | value |", "|---|---|"]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in provenance["options"].items()]
    if metrics:
        lines += ["", "## Quality on held-out data", ""]
        table = metrics.get("table")
        if table:
            header, *rows = table
            lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in rows]
        for note in metrics.get("notes", []):
            lines += ["", note]
    lines += ["", "## Use", "", "```python", "import zoo", "", f"model = zoo.load({ref})", "```", "", "```",
              f"{USE_COMMANDS.get(recipe.task, 'zoo ' + recipe.task)} --model {entry}", "```"]
    lines += ["", "## Reproduce", "", "```", reproduce_command(recipe, "RUN"), "```", ""]
    return "\n".join(lines)

