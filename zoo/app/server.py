"""Build and serve the gan-zoo Gradio app (``zoo serve``, ``python app.py``, a Hugging Face Space).

Importing this module loads no model and imports neither torch nor gradio: the app is built by
``build_app()`` and models load on the first request that needs them.
"""

from __future__ import annotations

import importlib
import os

from . import settings

TITLE = "gan-zoo"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
# Results keep their own pixels for download; on screen a small one (a 32 px generator) is scaled
# up to its box, sharp-edged, instead of sitting at its natural size in the middle.
CSS = """
#generate-output img { width: 100%; height: 100%; object-fit: contain; image-rendering: pixelated; }
"""


def build_app():
    """The gan-zoo ``gr.Blocks`` app, one tab per entry of ``zoo.app.TABS``, with its queue set up."""
    import gradio as gr

    from . import TABS

    # Gradio's own result files live in its cache folder and are removed after an hour.
    with gr.Blocks(title=TITLE, delete_cache=(600, 3600)) as app:
        gr.Markdown(
            "# gan-zoo\nOfficial GAN checkpoints as safe, cached PyTorch models. "
            "Models marked *offline* are on this server and need no download."
        )
        with gr.Tabs():
            for module in TABS:
                importlib.import_module(module).build_tab()
    # Every task event names its own concurrency group and limit (settings.task_slots); the
    # queue keeps long runs off HTTP timeouts and streams their progress.
    app.queue(max_size=settings.queue_size(), default_concurrency_limit=settings.task_slots())
    return app


def server_address() -> tuple[str, int]:
    """(host, port) from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, else 127.0.0.1:7860."""
    host = os.environ.get("GRADIO_SERVER_NAME") or DEFAULT_HOST
    port_text = os.environ.get("GRADIO_SERVER_PORT") or str(DEFAULT_PORT)
    try:
        port = int(port_text)
    except ValueError:
        raise SystemExit(f"error: GRADIO_SERVER_PORT must be a port number, not {port_text!r}") from None
    return host, port


def main() -> None:
    """Serve the app on ``server_address()`` until interrupted."""
    settings.settle_network_mode()  # before huggingface_hub is imported: it reads HF_HUB_OFFLINE once
    host, port = server_address()
    app = build_app()
    app.launch(server_name=host, server_port=port, show_error=True, css=CSS)
