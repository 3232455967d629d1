"""The demo weights bundled in zoo/weights: pinned, small, loadable, and each task works with them offline."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import zoo
from zoo.cache import BUNDLED_DIR
from zoo.catalog.bundled import is_demo
from zoo.converted import CONFIG_FILE, WEIGHTS_FILE, check_folder
from zoo.download import sha256_file
from zoo.errors import IntegrityError
from zoo.registry import BundledSource
from zoo.tasks.translate import is_colorizer

MAX_BYTES = 8 * 1024 * 1024
EXAMPLES = Path(__file__).resolve().parent.parent / "zoo" / "app" / "examples"

DEMOS = [m for m in zoo.list_models() if is_demo(m)]


def bundled_sources(info):
    parts = [d.sources for d in info.directions] if info.directions else [info.sources]
    return [s for sources in parts for s in sources if isinstance(s, BundledSource)]


def test_every_task_with_a_tab_has_a_demo_model():
    assert {m.task for m in DEMOS} >= {"generate", "translate", "inpaint"}


@pytest.mark.parametrize("info", DEMOS, ids=lambda m: m.name)
def test_bundled_files_match_their_pins(info):
    sources = bundled_sources(info)
    assert sources
    for source in sources:
        folder = BUNDLED_DIR / source.folder
        config, _ = check_folder(folder)  # keys, shapes, and the file against config.json's sha256
        assert source.sha256 and sha256_file(folder / WEIGHTS_FILE) == source.sha256 == config["weights_sha256"]
        size = sum(p.stat().st_size for p in folder.iterdir() if p.suffix == ".safetensors")
        assert size <= MAX_BYTES, f"{folder}: {size:,} bytes of weights"
        assert config["source"]["kind"] == "trained" and config["arch_kwargs"] == info.arch_kwargs
        assert (folder / "README.md").read_text() == (Path(zoo.__file__).parent.parent / "model_cards" / info.card).read_text()


def test_the_demo_models_work(tmp_path):
    photo = Image.open(EXAMPLES / "coffee.jpg").convert("RGB")
    colorize = zoo.load("pix2pix-colorize")
    assert is_colorizer(colorize.folder_config)
    out = colorize(photo)  # a colour photo is reduced to its luma first
    assert out.size == photo.size and out.mode == "RGB"
    luma_in = np.asarray(photo.convert("L"), dtype=float)
    luma_out = np.asarray(out.convert("L"), dtype=float)
    assert np.abs(luma_in - luma_out).mean() < 1.5  # it keeps the input's brightness
    assert np.asarray(out, dtype=float).std(axis=2).mean() > 2  # and adds colour
    cartoon = zoo.load("cyclegan-photo2cartoon")
    assert cartoon.directions == ["AtoB", "BtoA"]
    assert cartoon(photo.resize((128, 96))).size == (128, 96)
    assert cartoon(photo.resize((128, 96)), direction="BtoA").size == (128, 96)
    gen = zoo.load("stylegan2-fashion-32")
    a, b = np.asarray(gen(seed=1), dtype=float), np.asarray(gen(seed=2), dtype=float)
    assert a.shape == (32, 32) and np.abs(a - b).mean() > 5
    fill = zoo.load("deepfill-nature")
    mask = Image.open(EXAMPLES / "coffee_spoon_mask.png")
    filled = np.asarray(fill(photo, mask))
    hole = np.asarray(mask.convert("L")) > 127
    assert np.array_equal(filled[~hole], np.asarray(photo)[~hole])
    assert not np.array_equal(filled[hole], np.asarray(photo)[hole])


def test_changed_bundled_weights_are_refused(tmp_path, monkeypatch):
    info = zoo.info("stylegan2-fashion-32")
    (source,) = bundled_sources(info)
    copy = tmp_path / "weights"
    shutil.copytree(BUNDLED_DIR, copy)
    monkeypatch.setattr("zoo.cache.BUNDLED_DIR", copy)
    folder = copy / source.folder
    data = bytearray((folder / WEIGHTS_FILE).read_bytes())
    data[-1] ^= 1
    (folder / WEIGHTS_FILE).write_bytes(bytes(data))
    with pytest.raises(IntegrityError):
        zoo.load("stylegan2-fashion-32")
    # a rewritten config.json that vouches for the changed bytes is refused by the registry's pin
    config = json.loads((folder / CONFIG_FILE).read_text())
    config["weights_sha256"] = sha256_file(folder / WEIGHTS_FILE)
    (folder / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(IntegrityError, match="not the ones this version of gan-zoo shipped"):
        zoo.load("stylegan2-fashion-32")


def test_cli_defaults_fall_back_to_the_demo_models(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ZOO_CACHE": str(tmp_path / "cache")}
    r = subprocess.run([sys.executable, "-m", "zoo", "generate", str(tmp_path / "g.png"), "--seed", "3"], capture_output=True,
                       text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    assert "using the bundled demo weights stylegan2-fashion-32" in r.stderr
    assert Image.open(tmp_path / "g.png").size == (32, 32)
    photo = tmp_path / "in.png"
    Image.open(EXAMPLES / "coffee.jpg").convert("RGB").resize((96, 64)).save(photo)
    r = subprocess.run([sys.executable, "-m", "zoo", "translate", str(photo), str(tmp_path / "t.png")], capture_output=True,
                       text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    assert "using the bundled demo weights" in r.stderr and Image.open(tmp_path / "t.png").size == (96, 64)
