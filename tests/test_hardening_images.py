"""Image input and output hardening: size checked from the header, EXIF orientation, multi-frame
files, output permissions, and outputs that would overwrite an input or cannot be written.

Every bad input gives one ``error: ...`` line (CLI) or one ``ImageError`` and loses nothing.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

import zoo
from conftest import PARITY, ROOT
from zoo import cli
from zoo.errors import ImageError
from zoo.tasks import images

TINY_UPSCALER = PARITY / "esrgan" / "realesr_srvgg_x4_prelu_f16_c4" / "checkpoint.pth"  # x4, 4 convs
TINY_TRANSLATOR = PARITY / "pix2pix_cyclegan" / "cyclegan_resnet9_in_legacy" / "checkpoint.pth"
TINY = ["--model", str(TINY_UPSCALER), "--quiet", "--tile", "0"]
ORIENTATION = 0x0112


@pytest.fixture(scope="module")
def upscaler():
    return zoo.load(TINY_UPSCALER)


def bilevel_png(path: Path, width: int, height: int) -> Path:
    """A valid all-black 1-bit PNG of any size, written without building it in memory (18 KB for 144 MP)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row, packer = b"\0" * (1 + (width + 7) // 8), zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def pillow_allocated() -> int:
    """Bytes of image memory Pillow has allocated so far (its block allocator's counter)."""
    return Image.core.get_stats()["allocated_blocks"] * Image.core.get_block_size()


def one_error_line(err: str) -> str:
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def texture(height: int = 20, width: int = 30) -> np.ndarray:
    """An RGB uint8 H x W x 3 image with no symmetry, so a rotation cannot go unnoticed."""
    y, x = np.mgrid[0:height, 0:width]
    return np.dstack([x * 255 // width, y * 255 // height, (x * y) % 256]).astype(np.uint8)


def rotated_file(path: Path) -> Path:
    """``texture()`` stored 30x20 with EXIF Orientation 6: viewers show it turned 90 degrees, 20x30."""
    image = Image.fromarray(texture())
    exif = image.getexif()
    exif[ORIENTATION] = 6
    image.save(path, exif=exif, **({"quality": 95} if path.suffix == ".jpg" else {}))
    return path


# -- 1. size checked from the header ------------------------------------------------------------

MEASURE = """
import json, resource, sys, time
import torch, zoo.loading  # imported first: torch dominates the baseline
from zoo import cli
before, start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter()
rc = cli.main(sys.argv[1:])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rc": rc, "seconds": time.perf_counter() - start, "peak_growth_mb": (peak - before) / 1024}))
"""


def test_an_oversized_file_is_refused_from_its_header(tmp_path):
    """144 MP (between the 16 MP limit and Pillow's bomb error): refused without decoding, no warning."""
    big = bilevel_png(tmp_path / "big.png", 12000, 12000)
    out = tmp_path / "out.png"
    result = subprocess.run([sys.executable, "-c", MEASURE, "upscale", str(big), str(out), *TINY],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert measured["rc"] == 1
    assert "12000x12000 (144.0 MP), over the 16 MP limit" in one_error_line(result.stderr)  # no DecompressionBombWarning
    assert measured["peak_growth_mb"] < 100, measured  # decoding alone takes 144 MB, the old path 1.3 GB
    assert not out.exists()


def test_a_lazy_pil_image_is_refused_before_decoding(tmp_path, upscaler):
    """The API / app path: ``Image.open`` is lazy; the limit is checked before any pixel is decoded."""
    with Image.open(bilevel_png(tmp_path / "big.png", 6000, 4000)) as lazy:  # 24 MP
        before = pillow_allocated()
        with pytest.raises(ImageError, match=r"6000x4000 \(24.0 MP\), over the 16 MP limit"):
            upscaler(lazy)
        assert pillow_allocated() == before
        with pytest.raises(ImageError, match="over the 16 MP limit"):
            images.open_image(lazy.filename)
        assert pillow_allocated() == before


def test_the_app_refuses_before_decoding(tmp_path, monkeypatch):
    gr = pytest.importorskip("gradio")
    monkeypatch.syspath_prepend(str(ROOT))
    from zoo.app import translate as tr
    from zoo.app import upscale as up

    with Image.open(bilevel_png(tmp_path / "big.png", 3000, 2000)) as lazy:  # 6 MP, over the app's 4 MP
        for function in (up.upscale, tr.translate):
            before = pillow_allocated()
            with pytest.raises(gr.Error, match="this server takes up to 4 megapixels"):
                function(lazy)
            assert pillow_allocated() == before, function.__name__


def test_pillows_bomb_error_is_one_line(tmp_path, capsys):
    huge = bilevel_png(tmp_path / "huge.png", 20000, 10000)  # 200 MP: Pillow refuses it at open
    assert cli.main(["upscale", str(huge), str(tmp_path / "out.png"), *TINY, "--max-megapixels", "500"]) == 1
    assert "huge.png is too large to open safely" in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "out.png").exists()


# -- 2. EXIF orientation -----------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_the_cli_output_is_upright(tmp_path, upscaler, capsys, suffix):
    src = rotated_file(tmp_path / f"photo{suffix}")
    out = tmp_path / "out.png"
    assert cli.main(["upscale", str(src), str(out), *TINY]) == 0
    assert "(20x30 -> 80x120)" in capsys.readouterr().out
    with Image.open(src) as stored:
        expected = upscaler(ImageOps.exif_transpose(stored), tile=0)
    with Image.open(out) as result:
        assert result.size == (80, 120) and ORIENTATION not in result.getexif()
        assert np.array_equal(np.asarray(result), np.asarray(expected))


def test_the_tasks_turn_a_tagged_pil_image_upright(tmp_path, upscaler):
    upright = np.ascontiguousarray(np.rot90(texture(), k=-1))  # Orientation 6 = turn 90 degrees clockwise
    with Image.open(rotated_file(tmp_path / "photo.png")) as tagged:
        assert upscaler.upscale_array(tagged, tile=0).shape == (120, 80, 3)
        assert np.array_equal(upscaler.upscale_array(tagged, tile=0), upscaler.upscale_array(upright, tile=0))
        translator = zoo.load(TINY_TRANSLATOR)
        out = translator(tagged, size="native")
        assert out.size == (20, 30) and np.array_equal(np.asarray(out), np.asarray(translator(upright, size="native")))


# -- 3. multi-frame files ----------------------------------------------------------------------

FRAMES = [Image.fromarray(np.full((16, 16, 3), v, np.uint8)) for v in (0, 128, 255)]


@pytest.mark.parametrize("name", ["anim.gif", "anim.png", "pages.tiff", "anim.webp"])
def test_a_multi_frame_file_is_refused(tmp_path, capsys, name):
    src = tmp_path / name
    FRAMES[0].save(src, save_all=True, append_images=FRAMES[1:])
    out = tmp_path / "out.png"
    assert cli.main(["upscale", str(src), str(out), *TINY]) == 1
    err = one_error_line(capsys.readouterr().err)
    assert f"{name} has 3 frames" in err and "save the frame you want as its own file first" in err
    assert not out.exists()


def test_a_camera_mpo_is_one_photo_and_the_api_uses_the_current_frame(tmp_path, upscaler):
    mpo = tmp_path / "camera.jpg"
    FRAMES[1].save(mpo, format="MPO", save_all=True, append_images=FRAMES[2:])  # photo + a second picture
    opened = images.open_image(mpo)
    assert np.array_equal(upscaler.upscale_array(opened), upscaler.upscale_array(np.asarray(FRAMES[1])))
    gif = tmp_path / "anim.gif"
    FRAMES[0].save(gif, save_all=True, append_images=FRAMES[1:])
    with Image.open(gif) as animation:  # a PIL image given directly: its current frame, as documented
        animation.seek(2)
        assert np.array_equal(upscaler.upscale_array(animation), upscaler.upscale_array(np.asarray(FRAMES[2])))


def test_the_app_refuses_a_multi_frame_upload(tmp_path, monkeypatch):
    gr = pytest.importorskip("gradio")
    monkeypatch.syspath_prepend(str(ROOT))
    from zoo.app import upscale as up

    FRAMES[0].save(tmp_path / "anim.gif", save_all=True, append_images=FRAMES[1:])
    with Image.open(tmp_path / "anim.gif") as animation, pytest.raises(gr.Error, match="holds 3 frames"):
        up.upscale(animation)
    with pytest.raises(gr.Error, match="holds 3 frames"):  # as an upload (a path): refused from the header
        up.upscale({"path": str(tmp_path / "anim.gif"), "orig_name": "anim.gif"})


# -- 4. output permissions ---------------------------------------------------------------------


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664)])
def test_outputs_get_the_usual_permissions(tmp_path, umask, mode):
    Image.fromarray(texture()).save(tmp_path / "in.png")
    old = os.umask(umask)
    try:
        assert cli.main(["upscale", str(tmp_path / "in.png"), str(tmp_path / "new.png"), *TINY]) == 0
        existing = tmp_path / "existing.png"
        existing.write_bytes(b"")
        existing.chmod(0o640)  # an existing file keeps its mode, as with open(path, "w")
        assert cli.main(["upscale", str(tmp_path / "in.png"), str(existing), *TINY]) == 0
    finally:
        os.umask(old)
    assert (tmp_path / "new.png").stat().st_mode & 0o777 == mode
    assert existing.stat().st_mode & 0o777 == 0o640 and existing.stat().st_size > 0


# -- 5. outputs that would overwrite an input, or cannot be written -----------------------------


@pytest.mark.parametrize("case", ["same-file", "folder-into-itself", "file-into-its-folder", "hard-link", "same-name"])
def test_an_output_never_overwrites_an_input(tmp_path, capsys, case):
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(texture()).save(folder / "a.png")
    Image.fromarray(texture()[:, :, 0]).save(folder / "b.jpg")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    srcs, out = [str(folder / "a.png")], str(folder / "a.png")
    if case == "folder-into-itself":
        srcs, out = [str(folder)], str(folder)
    elif case == "file-into-its-folder":
        out = str(folder) + os.sep
    elif case == "hard-link":
        os.link(folder / "a.png", tmp_path / "link.png")
        out = str(tmp_path / "link.png")
    elif case == "same-name":  # two inputs called a.png: the second output would replace the first
        (tmp_path / "more").mkdir()
        Image.fromarray(texture()).save(tmp_path / "more" / "a.png")
        srcs, out = [str(folder / "a.png"), str(tmp_path / "more" / "a.png")], str(tmp_path / "out")
    assert cli.main(["upscale", *srcs, out, *TINY]) == 1
    err = one_error_line(capsys.readouterr().err)
    assert ("would both be written to" if case == "same-name" else "would overwrite the input") in err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before and not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", ["parent-is-a-file", "folder-is-a-file", "unwritable-folder"])
def test_an_unwritable_output_is_one_line(tmp_path, capsys, case):
    src = tmp_path / "in.png"
    Image.fromarray(texture()).save(src)
    blocker = tmp_path / "taken.png"
    blocker.write_bytes(b"user data")
    out = {"parent-is-a-file": f"{blocker}/out.png", "folder-is-a-file": f"{blocker}/",
           "unwritable-folder": "/proc/out.png"}[case]  # nobody may create files in /proc, root included
    assert cli.main(["upscale", str(src), out, *TINY]) == 1
    err = one_error_line(capsys.readouterr().err)
    assert "cannot write into" in err or "must be a folder" in err
    assert blocker.read_bytes() == b"user data"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "taken.png"] and not Path("/proc/out.png").exists()
