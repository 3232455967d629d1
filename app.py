"""gan-zoo Gradio app: ``python app.py`` (also the Hugging Face Space entry point; ``zoo serve``
does the same from an installed package).

The app itself is ``zoo.app`` (one module per tab, see ``zoo.app.TABS``). Every task event is
named for gradio_client (``/upscale``, ...) and callable with only its image input(s). The server
listens on ``$GRADIO_SERVER_NAME:$GRADIO_SERVER_PORT`` (default 127.0.0.1:7860). Importing this
module loads no model and imports neither torch nor gradio.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `python app.py` from a checkout or a Space: the `zoo` package beside this file is the one served.
_ROOT = Path(__file__).resolve().parent
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from zoo.app.server import build_app, main, server_address  # noqa: E402

__all__ = ["build_app", "main", "server_address"]

if __name__ == "__main__":
    main()
