"""gan-zoo Gradio app (also the Hugging Face Space entry point): ``python app.py``.

Tabs come from ``demos/`` (see ``demos.TABS``). Every task event is named for gradio_client
(``/upscale``, ...) and callable with only its image input(s). The server listens on
``$GRADIO_SERVER_NAME:$GRADIO_SERVER_PORT`` (default 127.0.0.1:7860). Importing this module
loads no model and builds nothing; models load on the first request that needs them.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

# `python app.py` from anywhere: make the repository's demos/ and zoo/ importable.
_ROOT = Path(__file__).resolve().parent
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

TITLE = "gan-zoo"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
QUEUE_SIZE = 32


def build_app():
    """The gan-zoo ``gr.Blocks`` app, one tab per entry of ``demos.TABS``."""
    import gradio as gr

    import demos

    with gr.Blocks(title=TITLE) as app:
        gr.Markdown(
            "# gan-zoo\nOfficial GAN checkpoints as safe, cached PyTorch models. "
            "Models marked *works offline* need no download."
        )
        with gr.Tabs():
            for module in demos.TABS:
                importlib.import_module(module).build_tab()
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
    host, port = server_address()
    app = build_app()
    # The queue streams progress and keeps long upscales from hitting HTTP timeouts.
    app.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)
    app.launch(server_name=host, server_port=port, show_error=True)


if __name__ == "__main__":
    main()
