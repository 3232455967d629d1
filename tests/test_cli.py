"""The ``zoo`` command: registry commands, upscale on files and folders, and bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import PARITY
from zoo import cli

FAST = ["--model", "realesr-animevideov3", "--quiet"]


def zoo_cmd(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("zoo")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=300)


@pytest.fixture
def images(tmp_path, astronaut) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(astronaut[:40, :48]).save(folder / "photo.jpg")
    rgba = np.dstack([astronaut[40:72, :40], np.full((32, 40), 128, np.uint8)])
    Image.fromarray(rgba).save(folder / "sprite.png")
    (folder / "notes.txt").write_text("not an image, not picked up")
    return folder


def test_console_script_help():
    result = zoo_cmd("--help")
    assert result.returncode == 0
    for command in ("list", "info", "download", "import", "push", "upscale", "serve"):
        assert command in result.stdout
    for command in ("list", "info", "download", "import", "push", "upscale", "serve"):
        assert zoo_cmd(command, "--help").returncode == 0


def test_list_and_info(capsys):
    assert cli.main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by_name = {r["name"]: r for r in rows}
    assert by_name["realesrgan-x4plus"]["available_offline"] is True
    assert by_name["realesrgan-x2plus"]["available_offline"] is False
    assert cli.main(["list", "--task", "upscale"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["name", "task", "family", "output", "licence", "offline"]
    assert any(line.startswith("realesr-animevideov3") for line in table)
    assert cli.main(["info", "realesr-general-x4v3"]) == 0
    out = capsys.readouterr().out
    assert "interpolate_with: realesr-general-wdn-x4v3" in out and "sha256" not in out.lower().split("sources")[0]
    assert cli.main(["info", "nope"]) == 1
    assert capsys.readouterr().err.startswith("error: unknown model 'nope'")


def test_upscale_one_file(tmp_path, images, capsys):
    out = tmp_path / "big.png"
    assert cli.main(["upscale", str(images / "photo.jpg"), str(out), *FAST, "--tile", "0"]) == 0
    assert Image.open(out).size == (192, 160)
    assert "48x40 -> 192x160" in capsys.readouterr().out


def test_upscale_folder_keeps_modes_and_names(tmp_path, images):
    out = tmp_path / "out"
    assert cli.main(["upscale", str(images), str(out), *FAST, "--outscale", "2"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["photo.jpg", "sprite.png"]
    sprite = Image.open(out / "sprite.png")
    assert sprite.mode == "RGBA" and sprite.size == (80, 64)
    assert abs(int(np.asarray(sprite)[:, :, 3].mean()) - 128) <= 2
    assert Image.open(out / "photo.jpg").size == (96, 80)


def test_upscale_several_files_with_the_real_command(tmp_path, images):
    out = tmp_path / "several"
    result = zoo_cmd("upscale", str(images / "photo.jpg"), str(images / "sprite.png"), str(out), *FAST)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["photo.jpg", "sprite.png"]


def test_a_corrupt_file_among_good_ones(tmp_path, images, capsys):
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    out = tmp_path / "out"
    assert cli.main(["upscale", str(images), str(out), *FAST]) == 1
    err = capsys.readouterr().err
    assert "error: broken.png:" in err and "not a readable image" in err
    assert sorted(p.name for p in out.iterdir()) == ["photo.jpg", "sprite.png"]  # nothing partial


@pytest.mark.parametrize(
    "case, expected",
    [
        ("missing", "no such file or folder"),
        ("empty", "not a readable image"),
        ("too-big", "over the 0.0005 MP limit"),
        ("unknown-model", "unknown model 'realesrgan-x5'"),
        ("other-family", "translate"),
        ("offline-model", "realesrgan-x2plus is not available"),
        ("no-extension", "cannot tell the image format"),
    ],
)
def test_bad_input_exits_1_with_one_line_and_no_output(tmp_path, images, capsys, case, expected):
    src, out, extra = images / "photo.jpg", tmp_path / "result.png", []
    if case == "missing":
        src = tmp_path / "nothing.png"
    elif case == "empty":
        src = tmp_path / "empty.png"
        src.write_bytes(b"")
    elif case == "too-big":
        extra = ["--max-megapixels", "0.0005"]
    elif case == "unknown-model":
        extra = ["--model", "realesrgan-x5"]
    elif case == "other-family":
        extra = ["--model", str(PARITY / "pix2pix_cyclegan" / "pix2pix_unet128_bn_dropout" / "checkpoint.pth")]
    elif case == "offline-model":
        extra = ["--model", "realesrgan-x2plus"]
    elif case == "no-extension":
        out = tmp_path / "result"
    args = ["upscale", str(src), str(out), *FAST, *extra]
    assert cli.main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and expected in err and err.count("\n") == 1, err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_import_prints_what_it_detected(tmp_path, images, capsys):
    out = tmp_path / "conv"
    src = PARITY / "esrgan" / "esrgan_oldarch_x2_f16_b1_odd" / "checkpoint.pth"
    assert cli.main(["import", str(src), "--out", str(out), "--config", json.dumps({"upscale": 2})]) == 0
    text = capsys.readouterr().out
    assert "detected: esrgan / esrgan-old-arch" in text and "scale=2" in text and "291,667 parameters" in text
    assert (out / "model.safetensors").is_file() and (out / "README.md").is_file()
    # the converted folder loads and upscales
    result = tmp_path / "x2.png"
    assert cli.main(["upscale", str(images / "photo.jpg"), str(result), "--model", str(out), "--quiet"]) == 0
    assert Image.open(result).size == (96, 80)
    shutil.rmtree(out)
    assert cli.main(["import", str(src), "--out", str(out), "--config", "[1, 2]"]) == 1


def test_list_into_a_closed_pipe_is_quiet():
    """`zoo list | head -1`: the reader may close the pipe before the table is written; that is
    not an error worth a traceback. Here the reading end is closed before zoo even starts."""
    exe = Path(sys.executable).with_name("zoo")
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run([str(exe), "list"], stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr
