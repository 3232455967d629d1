"""``zoo translate``: official files and registry entries, directions, batches, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from zoo import cli
from zoo.archs import build
from zoo.registry import Direction, ManualSource, ModelInfo
from zoo.tasks.options import TranslateOptions

RESNET = {"input_nc": 3, "output_nc": 3, "ngf": 8, "norm": "instance", "n_blocks": 2}


def _save_net(path, seed: int, **overrides):
    torch.manual_seed(seed)
    torch.save(build("resnet", {**RESNET, **overrides}).state_dict(), path)
    return path


@pytest.fixture
def entry(fresh_cache, temp_entries, tmp_path):
    """A two-direction entry "t-cli" whose weights are imported with ``zoo import``."""
    directions = tuple(
        Direction(d, a, b, (ManualSource(f"https://example.invalid/{o}.pth", f"{o}.pth"),), o)
        for d, a, b, o in (("AtoB", "day", "night", "d2n"), ("BtoA", "night", "day", "n2d"))
    )
    temp_entries(ModelInfo(name="t-cli", family="cyclegan", task="translate", title="t", description="d", licence="x",
                           sources=(), card="", arch="resnet", options=TranslateOptions(directions, test_mode="eval", resolution=256)))
    for seed, official in ((1, "d2n"), (2, "n2d")):
        assert cli.main(["import", str(_save_net(tmp_path / f"{official}.pth", seed)), "--name", "t-cli"]) == 0
    return "t-cli"


@pytest.fixture
def photo(tmp_path, astronaut):
    path = tmp_path / "photo.jpg"
    Image.fromarray(astronaut[100:160, 120:190]).save(path, quality=95)
    return path


def test_translate_an_official_file(tmp_path, photo, capsys):
    weights = _save_net(tmp_path / "latest_net_G.pth", 3)
    out = tmp_path / "out.png"
    assert cli.main(["translate", str(photo), str(out), "--model", str(weights), "--quiet"]) == 0
    assert "(70x60 -> 70x60)" in capsys.readouterr().out
    expected = zoo.load(weights)(Image.open(photo))
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(expected))


def test_directions_and_batches(entry, tmp_path, photo, astronaut):
    forward, backward = tmp_path / "fwd.png", tmp_path / "back.png"
    assert cli.main(["translate", str(photo), str(forward), "--model", entry, "--quiet"]) == 0
    assert cli.main(["translate", str(photo), str(backward), "--model", entry, "--direction", "n2d", "--quiet"]) == 0
    translator = zoo.load(entry)
    image = Image.open(photo)
    assert np.array_equal(np.asarray(Image.open(forward)), np.asarray(translator(image)))
    assert np.array_equal(np.asarray(Image.open(backward)), np.asarray(translator(image, direction="BtoA")))
    also = tmp_path / "also.png"
    assert cli.main(["translate", str(photo), str(also), "--model", f"{entry}@BtoA", "--quiet"]) == 0
    assert np.array_equal(np.asarray(Image.open(also)), np.asarray(Image.open(backward)))

    folder = tmp_path / "batch"
    folder.mkdir()
    Image.fromarray(astronaut[:40, :48]).save(folder / "a.jpg")
    Image.fromarray(np.dstack([astronaut[:32, :40], np.full((32, 40), 90, np.uint8)])).save(folder / "b.png")
    Image.fromarray(astronaut[:36, :36, 0]).save(folder / "c.png")  # grayscale into a 3-channel model
    assert cli.main(["translate", str(folder), str(tmp_path / "outs"), "--model", entry, "--size", "trained", "--quiet"]) == 0
    modes = {p.name: Image.open(p).mode for p in sorted((tmp_path / "outs").iterdir())}
    assert modes == {"a.jpg": "RGB", "b.png": "RGBA", "c.png": "RGB"}
    assert (np.asarray(Image.open(tmp_path / "outs" / "b.png"))[:, :, 3] == 90).all()


@pytest.mark.parametrize(
    "case, expected",
    [
        ("unknown-direction", "has no direction 'sideways'"),
        ("rgb-into-gray-model", "takes 1-channel (grayscale) images"),
        ("too-small", "needs at least 8 pixels"),
        ("corrupt-checkpoint", "corrupt.pth"),
        ("an-upscaler", "not an image-to-image translator"),
        ("not-downloaded", "cyclegan-horse2zebra@AtoB is not available offline"),
        ("corrupt-image", "is not a readable image"),
    ],
)
def test_bad_input_exits_1_with_one_line_and_no_output(case, expected, entry, tmp_path, photo, capsys):
    args = [str(photo)]
    model = entry
    extra: list[str] = []
    if case == "unknown-direction":
        extra = ["--direction", "sideways"]
    elif case == "rgb-into-gray-model":
        model = str(_save_net(tmp_path / "gray.pth", 4, input_nc=1, output_nc=1))
    elif case == "too-small":
        Image.new("RGB", (6, 30)).save(tmp_path / "tiny.png")
        args = [str(tmp_path / "tiny.png")]
    elif case == "corrupt-checkpoint":
        data = _save_net(tmp_path / "good.pth", 5).read_bytes()
        (tmp_path / "corrupt.pth").write_bytes(data[: len(data) // 2])
        model = str(tmp_path / "corrupt.pth")
    elif case == "an-upscaler":
        model = "realesr-animevideov3"
    elif case == "not-downloaded":
        model = "cyclegan-horse2zebra"
    elif case == "corrupt-image":
        (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
        args = [str(tmp_path / "broken.png")]
    out = tmp_path / "result.png"
    assert cli.main(["translate", *args, str(out), "--model", model, "--quiet", *extra]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and expected in err and "\n" not in err
    assert not out.exists() and not list(tmp_path.glob(".result*"))


def test_info_lists_the_directions(capsys):
    assert cli.main(["info", "cyclegan-horse2zebra"]) == 0
    out = capsys.readouterr().out
    assert "AtoB: horse" in out and "(horse2zebra)" in out and "BtoA: zebra" in out and "zebra2horse.pth" in out
