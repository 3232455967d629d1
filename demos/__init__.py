"""Gradio tab builders, one module per task (plus the Model zoo browser).

Each module has ``build_tab()``, called inside a ``gr.Blocks`` context by ``app.build_app``.
Building a tab loads no model: models are loaded on the first request that needs them.
"""

from __future__ import annotations

# (module, tab label) in the order the app shows them. Generate and Inpaint come with their
# task families.
TABS = (
    ("demos.upscale", "Upscale"),
    ("demos.translate", "Translate"),
    ("demos.model_zoo", "Model zoo"),
)
