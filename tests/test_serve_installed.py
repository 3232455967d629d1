"""`zoo serve` from an installed package, away from any checkout: build the wheel, install it into a
folder of its own, start the app from there and upscale an image with gradio_client."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("gradio")
pytest.importorskip("gradio_client")

from support.app_server import serve_app  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SERVE = """
import sys
sys.path.insert(0, sys.argv[1])
import zoo, zoo.app
assert zoo.__file__.startswith(sys.argv[1]) and zoo.app.__file__.startswith(sys.argv[1]), zoo.__file__
from zoo.cli import main
sys.exit(main(["serve", "--port", sys.argv[2]]))
"""


@pytest.mark.slow
def test_zoo_serve_runs_from_an_installed_wheel(tmp_path):
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), str(ROOT)],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next(wheels.glob("gan_zoo-*.whl"))
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(site), str(wheel)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-2000:]
    assert (site / "zoo" / "app" / "examples" / "small-astronaut.png").is_file()

    work = tmp_path / "elsewhere"  # not a checkout: no app.py, no zoo/ beside it
    work.mkdir()
    env = {"GRADIO_TEMP_DIR": str(tmp_path / "gradio"), "PYTHONSAFEPATH": "1"}
    command = lambda port: [sys.executable, "-c", SERVE, str(site), str(port)]  # noqa: E731
    with serve_app(tmp_path / "served", env, command=command, cwd=work) as served:
        from gradio_client import Client, handle_file

        src = tmp_path / "in.png"
        Image.fromarray(np.random.default_rng(0).integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(src)
        result = Client(served.url, verbose=False).predict(handle_file(str(src)), model="realesr-animevideov3", api_name="/upscale")
        with Image.open(result) as out:
            assert out.size == (96, 80)
    assert not list(work.iterdir())  # nothing written into the working folder
