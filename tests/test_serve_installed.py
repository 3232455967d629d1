"""`zoo serve` from an installed package, away from any checkout: build the wheel, install it into a
folder of its own, start the app from there and upscale an image with gradio_client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("gradio")
pytest.importorskip("gradio_client")

ROOT = Path(__file__).resolve().parents[1]
SERVE = """
import sys
sys.path.insert(0, sys.argv[1])
import zoo, zoo.app
assert zoo.__file__.startswith(sys.argv[1]) and zoo.app.__file__.startswith(sys.argv[1]), zoo.__file__
from zoo.cli import main
sys.exit(main(["serve", "--port", sys.argv[2]]))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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

    port = _free_port()
    work = tmp_path / "elsewhere"  # not a checkout: no app.py, no zoo/ beside it
    work.mkdir()
    env = {**os.environ, "ZOO_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "GRADIO_TEMP_DIR": str(tmp_path / "gradio"), "PYTHONSAFEPATH": "1"}
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(site), str(port)], cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text(errors="replace")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("zoo serve did not answer:\n" + (tmp_path / "serve.log").read_text(errors="replace"))
                time.sleep(0.5)
        from gradio_client import Client, handle_file

        src = tmp_path / "in.png"
        Image.fromarray(np.random.default_rng(0).integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(src)
        result = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(handle_file(str(src)), model="realesr-animevideov3",
                                                                           api_name="/upscale")
        with Image.open(result) as out:
            assert out.size == (96, 80)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    assert not list(work.iterdir())  # nothing written into the working folder
