"""Checkpoints are read without running pickled code; corrupt files fail with one-line errors."""

from __future__ import annotations

import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

import zoo
from conftest import PARITY
from support.hostile import CodePayload
from zoo.errors import CheckpointError, UnsafeCheckpointError
from zoo.formats.checkpoint import read_checkpoint

GOOD = PARITY / "esrgan" / "realesrgan_rrdbnet_x4_f16_b2_g8" / "checkpoint.pth"
LEGACY = PARITY / "esrgan" / "esrgan_rrdb_x4_f16_b2_g8" / "checkpoint.pth"


def _evil_checkpoint(tmp_path: Path, *, legacy: bool) -> tuple[Path, Path]:
    marker = tmp_path / "code-ran"
    sd = dict(torch.load(GOOD, weights_only=True)["params_ema"])
    sd["conv_first.bias"] = CodePayload(marker)  # hidden among real tensors
    path = tmp_path / ("evil_legacy.pth" if legacy else "evil.pth")
    torch.save({"params_ema": sd}, path, _use_new_zipfile_serialization=not legacy)
    # the payload really runs under an unrestricted unpickler:
    return path, marker


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_code_carrying_pickle_is_refused_and_never_runs(tmp_path, legacy):
    path, marker = _evil_checkpoint(tmp_path, legacy=legacy)
    with pytest.raises(UnsafeCheckpointError, match="refused to load evil") as err:
        zoo.load(path)
    assert "asks for posix.system" in str(err.value)
    assert not marker.exists()
    # control: the same file does run code when unpickled without restrictions
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_cli_import_of_evil_pickle_fails_cleanly(tmp_path):
    path, marker = _evil_checkpoint(tmp_path, legacy=False)
    out = tmp_path / "converted"
    result = subprocess.run([sys.executable, "-m", "zoo.cli", "import", str(path), "--out", str(out)], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.startswith("error: refused to load evil.pth")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not marker.exists() and not out.exists()


def test_plain_pickle_of_a_dict_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "plain.pkl"
    path.write_bytes(pickle.dumps({"a": 1}, protocol=2))
    with pytest.raises(CheckpointError):
        zoo.load(path)


@pytest.mark.parametrize("source", [GOOD, LEGACY], ids=["zip", "legacy"])
def test_truncated_checkpoint_is_reported(tmp_path, source):
    data = source.read_bytes()
    path = tmp_path / "cut.pth"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cut.pth"):
        read_checkpoint(path)


def test_garbage_and_empty_files(tmp_path):
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty.pth is empty"):
        zoo.load(empty)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"this is not a checkpoint" * 10)
    with pytest.raises(CheckpointError, match="not a checkpoint gan-zoo can read"):
        zoo.load(junk)
    with pytest.raises(CheckpointError, match="no such file"):
        zoo.load(tmp_path / "missing.pth")


def test_damaged_pickle_inside_zip_is_reported(tmp_path):
    path = tmp_path / "damaged.pth"
    raw = bytearray(GOOD.read_bytes())
    with zipfile.ZipFile(GOOD) as zf:
        info = next(i for i in zf.infolist() if i.filename.endswith("data.pkl"))
    name_len, extra_len = int.from_bytes(raw[info.header_offset + 26 : info.header_offset + 28], "little"), int.from_bytes(
        raw[info.header_offset + 28 : info.header_offset + 30], "little"
    )
    start = info.header_offset + 30 + name_len + extra_len
    raw[start + 2 : start + 40] = b"\xff" * 38  # garble the pickle opcodes
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="damaged.pth"):
        read_checkpoint(path)


def test_safetensors_checkpoints_load(tmp_path):
    from safetensors.torch import save_file

    sd = torch.load(GOOD, weights_only=True)["params_ema"]
    path = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    up = zoo.load(path)
    assert up.scale == 4 and up.folder_config["converted_from"] == "basicsr-rrdbnet"
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match="broken.safetensors"):
        zoo.load(broken)
