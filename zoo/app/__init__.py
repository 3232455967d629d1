"""Gradio tab builders, one module per task (plus the Model zoo browser).

Each module has ``LABEL`` (the tab's title) and ``build_tab()``, called inside a ``gr.Blocks``
context by ``app.build_app``. Building a tab loads no model: models are loaded on the first
request that needs them.
"""

from __future__ import annotations

# The tab modules in the order the app shows them: one line per tab.
TABS = (
    "zoo.app.upscale",  # first: it works offline on the packaged weights
    "zoo.app.translate",
    "zoo.app.generate",
    "zoo.app.inpaint",
    "zoo.app.model_zoo",
)
