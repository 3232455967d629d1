"""A hostile user against the weights pipeline: no data loss, no resource bombs, one-line errors.

Every hostile file is built here, small and fast. Each test names the finding it guards.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import zoo
from conftest import PARITY
from support.hostile import CodePayload
from zoo import cache, cli, converted, importing, weights
from zoo.archs import build
from zoo.atomic import clean_leftovers
from zoo.errors import CheckpointError, IntegrityError, UnsafeCheckpointError
from zoo.registry import ModelInfo, UrlSource
from zoo.tasks.options import UpscaleOptions

RRDB_CASE = PARITY / "esrgan" / "realesrgan_rrdbnet_x4_f16_b2_g8"
RRDB_FILE = RRDB_CASE / "checkpoint.pth"
SRVGG_FILE = PARITY / "esrgan" / "realesr_srvgg_x4_prelu_f16_c4" / "checkpoint.pth"


def rrdb_sd() -> dict[str, torch.Tensor]:
    return dict(torch.load(RRDB_FILE, weights_only=True)["params_ema"])


@pytest.fixture
def photo(tmp_path) -> Path:
    """A small RGB PNG to upscale."""
    from PIL import Image

    path = tmp_path / "photo.png"
    Image.new("RGB", (12, 10), (120, 60, 30)).save(path)
    return path


def run_cli(capsys, *args: str) -> tuple[int, str]:
    """``zoo ARGS`` in-process: (exit code, stderr). stderr must be at most one line."""
    code = cli.main([str(a) for a in args])
    err = capsys.readouterr().err
    assert err.count("\n") <= 1 and "Traceback" not in err, err
    return code, err.strip()


def reference_error(net) -> float:
    io = load_file(str(RRDB_CASE / "io.safetensors"))
    with torch.no_grad():
        return (net(io["input"]) - io["output"]).abs().max().item()


# -- data loss: the writer never removes what it did not create ---------------------------------


def test_import_out_refuses_a_folder_with_user_files(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    code, err = run_cli(capsys, "import", RRDB_FILE, "--out", out)
    assert code == 1 and "not empty and is not a gan-zoo converted folder" in err
    assert [p.name for p in out.iterdir()] == ["thesis.tex"] and (out / "thesis.tex").read_text() == "years of work"
    assert [p.name for p in tmp_path.iterdir()] == ["mine"], "no temporary folder is left behind"


def test_import_out_dot_and_name_dotdot_touch_nothing(tmp_path, capsys, monkeypatch):
    work = tmp_path / "parent" / "work"
    work.mkdir(parents=True)
    (work / "keep.txt").write_text("x")
    (tmp_path / "parent" / "sibling.txt").write_text("y")
    monkeypatch.chdir(work)
    code, err = run_cli(capsys, "import", RRDB_FILE, "--out", ".")
    assert code == 1 and "current folder" in err
    for name in ("..", "../../x", "/tmp/abs", "a/b", ".hidden", ""):
        code, err = run_cli(capsys, "import", RRDB_FILE, "--name", name)
        assert code == 1 and "not a valid model name" in err, name
    assert sorted(p.name for p in work.iterdir()) == ["keep.txt"]
    assert sorted(p.name for p in (tmp_path / "parent").iterdir()) == ["sibling.txt", "work"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["parent"], "nothing written outside"


def test_import_out_naming_a_file_is_one_line(tmp_path, capsys):
    target = tmp_path / "report.pdf"
    target.write_bytes(b"%PDF")
    code, err = run_cli(capsys, "import", RRDB_FILE, "--out", target)
    assert code == 1 and "exists and is not a folder" in err
    assert target.read_bytes() == b"%PDF"


def test_import_replaces_only_its_own_converted_folder(tmp_path, capsys):
    out = tmp_path / "converted"
    assert run_cli(capsys, "import", RRDB_FILE, "--out", out)[0] == 0
    first = (out / "config.json").read_text()
    assert run_cli(capsys, "import", SRVGG_FILE, "--out", out)[0] == 0  # a converted folder: replaced whole
    assert json.loads((out / "config.json").read_text())["arch"] == "srvgg" != json.loads(first)["arch"]
    (out / "notes.txt").write_text("mine")  # now it holds a user's file too
    code, err = run_cli(capsys, "import", RRDB_FILE, "--out", out)
    assert code == 1 and "not empty" in err and (out / "notes.txt").read_text() == "mine"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_cli(capsys, "import", RRDB_FILE, "--out", empty)[0] == 0 and converted.is_converted_folder(empty)


# -- resource bombs ----------------------------------------------------------------------------


def expanded_rrdb(path: Path, num_feat: int) -> Path:
    """A BasicSR RRDBNet file whose every tensor is a stride-0 view of one stored float."""
    one = torch.zeros(1)
    meta = build("rrdbnet", {"num_feat": num_feat, "num_block": 1, "num_grow_ch": 32}, meta=True) if num_feat <= 1024 else None
    shapes = {k: v.shape for k, v in meta.state_dict().items()} if meta is not None else {
        "conv_first.weight": (num_feat, 3, 3, 3), "conv_first.bias": (num_feat,), "body.0.rdb1.conv1.weight": (32, num_feat, 3, 3),
        "conv_last.weight": (3, num_feat, 3, 3)}
    torch.save({"params_ema": {k: one.expand(*s) for k, s in shapes.items()}}, path)
    return path


def test_expanded_views_are_refused_before_anything_is_allocated(tmp_path, capsys):
    bomb = expanded_rrdb(tmp_path / "bomb.pth", 1000)
    assert bomb.stat().st_size < 200_000
    code, err = run_cli(capsys, "import", bomb, "--out", tmp_path / "out")
    assert code == 1 and "expanded view" in err and not (tmp_path / "out").exists()
    huge = expanded_rrdb(tmp_path / "huge.pth", 200_000)  # 1.44 TB if materialised
    with pytest.raises(CheckpointError, match="expanded view"):
        zoo.load(huge)


def test_expanded_view_bomb_stays_small_in_a_fresh_process(tmp_path, photo):
    bomb = expanded_rrdb(tmp_path / "bomb.pth", 1000)
    script = (
        "import re, sys, zoo.cli\n"
        f"code = zoo.cli.main(['upscale', '--model', {str(bomb)!r}, {str(photo)!r}, {str(tmp_path / 'o.png')!r}])\n"
        # VmHWM: this process's own peak (ru_maxrss keeps the forking pytest's peak across exec on Linux)
        "print(code, re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
    )
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    code, peak_kb = result.stdout.split()
    assert code == "1" and "expanded view" in result.stderr and result.stderr.count("\n") == 1
    assert int(peak_kb) < 1_500_000, f"peak RSS {int(peak_kb) // 1024} MB"  # torch itself is ~400 MB
    assert time.monotonic() - start < 60


def folder_with_config(tmp_path: Path, edit) -> Path:
    """A real converted folder (the RRDB parity net) whose config.json is then edited."""
    folder = tmp_path / "converted"
    importing.import_file(RRDB_FILE, out=folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(edit(config)) if callable(edit) else edit)
    return folder


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: {**c, "arch_kwargs": {**c["arch_kwargs"], "num_feat": 200_000}}, "num_feat must be in 1..1024"),
        (lambda c: {**c, "arch": "srvgg", "arch_kwargs": {"num_conv": 300_000}}, "num_conv must be in 0..1024"),
        (lambda c: {**c, "arch_kwargs": {**c["arch_kwargs"], "num_feat": -1}}, "num_feat must be in"),
        (lambda c: {**c, "arch_kwargs": {**c["arch_kwargs"], "num_feat": "64"}}, "num_feat must be an integer"),
        (lambda c: {**c, "arch_kwargs": {**c["arch_kwargs"], "bogus": 1}}, "unknown argument 'bogus'"),
        (lambda c: {**c, "arch_kwargs": [1, 2]}, "arch_kwargs must be a JSON object"),
        (lambda c: {**c, "arch_kwargs": None}, "arch_kwargs must be a JSON object"),
        (lambda c: {**c, "family": "stylegan9"}, "unknown family"),
        (lambda c: {**c, "arch": ["rrdbnet"]}, "unknown architecture"),
        (lambda c: {**c, "weights_sha256": 5}, "weights_sha256 is not"),
        (lambda c: [c], "holds a JSON list"),
        (lambda c: "rrdbnet", "holds a JSON str"),
        ("[" * 100_000 + "]" * 100_000, "nests too deeply"),
        ("{not json", "is unreadable"),
        (lambda c: {**c, "arch_kwargs": {**c["arch_kwargs"], "num_block": 3}}, "does not match its config.json"),
    ],
)
def test_type_confused_config_json_is_one_line_and_fast(tmp_path, capsys, photo, edit, message):
    folder = folder_with_config(tmp_path, edit)
    start = time.monotonic()
    code, err = run_cli(capsys, "upscale", "--model", folder, photo, tmp_path / "o.png", "--quiet")
    assert code == 1 and message in err, err
    assert time.monotonic() - start < 5 and not (tmp_path / "o.png").exists()


def test_parameter_ceiling_is_checked_on_meta_and_can_be_raised(monkeypatch):
    big = {"num_feat": 1024, "num_block": 64, "num_grow_ch": 512}  # within the kwarg ranges, 11.8 billion parameters
    start = time.monotonic()
    with pytest.raises(CheckpointError, match="over the 200,000,000 ceiling .* set ZOO_MAX_PARAMETERS"):
        build("rrdbnet", big, meta=True)  # refused even on meta, so a real build never starts
    assert time.monotonic() - start < 10
    monkeypatch.setenv("ZOO_MAX_PARAMETERS", "2e10")
    assert build("rrdbnet", big, meta=True).conv_first.weight.is_meta  # allowed now (built on meta only here)
    monkeypatch.setenv("ZOO_MAX_PARAMETERS", "lots")
    with pytest.raises(CheckpointError, match="ZOO_MAX_PARAMETERS must be a number"):
        build("rrdbnet", {})


def test_every_architecture_declares_limits_above_its_largest_release():
    from zoo.archs import arch_classes, arch_limits

    limits = arch_limits()
    assert set(limits) == set(arch_classes())
    for arch, lim in limits.items():
        assert lim.max_parameters >= 5 * lim.largest_released > 0, arch
        assert build(arch, {}, meta=True) is not None  # the defaults are within the rules


def test_hub_pytorch_model_bin_bomb_is_refused(online, fresh_cache, local_hub, tmp_path):
    bomb = expanded_rrdb(tmp_path / "pytorch_model.bin", 1000).read_bytes()
    local_hub.add_repo("someone/bomb", {"pytorch_model.bin": bomb})
    with pytest.raises(CheckpointError, match="expanded view"):
        zoo.load("hf:someone/bomb")
    assert not list((fresh_cache / "models").glob("*/*/model.safetensors"))


# -- legitimate files that used to be refused ----------------------------------------------------


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
@pytest.mark.parametrize("protocol", [3, 4, 5])
def test_pickle_protocols_3_to_5_load_and_import(tmp_path, capsys, protocol, legacy):
    path = tmp_path / f"p{protocol}.pth"
    torch.save({"params_ema": rrdb_sd()}, path, pickle_protocol=protocol, _use_new_zipfile_serialization=not legacy)
    assert reference_error(zoo.load(path).net) < 1e-4
    assert run_cli(capsys, "import", path, "--out", tmp_path / "out")[0] == 0


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
@pytest.mark.parametrize("protocol", [4, 5])
def test_malicious_protocol_4_and_5_pickles_are_called_what_they_are(tmp_path, capsys, protocol, legacy):
    marker = tmp_path / "code-ran"
    sd = rrdb_sd()
    sd["conv_first.bias"] = CodePayload(marker)
    path = tmp_path / "evil.pth"
    torch.save({"params_ema": sd}, path, pickle_protocol=protocol, _use_new_zipfile_serialization=not legacy)
    code, err = run_cli(capsys, "import", path, "--out", tmp_path / "out")
    assert code == 1 and "asks for posix.system, which could run code" in err and "never runs" in err
    assert "weights_only" not in err and "trusted" not in err and "damaged" not in err
    with pytest.raises(UnsafeCheckpointError):
        zoo.load(path)
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_torch_advice_is_never_repeated_for_a_damaged_pickle(tmp_path):
    path = tmp_path / "damaged.pth"
    torch.save({"x": torch.zeros(2)}, path, _use_new_zipfile_serialization=False)
    raw = bytearray(path.read_bytes())
    raw[2:6] = b"\xff\xfe\xfd\xfc"  # garbage inside the first pickle
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError) as err:
        zoo.load(path)
    assert "not a readable torch checkpoint" in str(err.value)
    assert "weights_only" not in str(err.value) and "trusted" not in str(err.value) and "\n" not in str(err.value)


def test_tied_weights_import_and_load(tmp_path, capsys):
    sd = rrdb_sd()
    sd["conv_hr.weight"] = sd["conv_body.weight"]  # one tensor under two keys (same shape)
    sd["conv_hr.bias"] = sd["conv_body.bias"]
    path = tmp_path / "tied.pth"
    torch.save({"params_ema": sd}, path)
    assert run_cli(capsys, "import", path, "--out", tmp_path / "out")[0] == 0
    net = zoo.load(tmp_path / "out").net
    assert torch.equal(net.conv_hr.weight, sd["conv_body.weight"])
    assert net.conv_hr.weight.data_ptr() != net.conv_body.weight.data_ptr()


def test_sparse_tensors_are_made_dense(tmp_path, capsys):
    dense = rrdb_sd()
    sd = dict(dense, **{"conv_first.weight": dense["conv_first.weight"].to_sparse()})
    path = tmp_path / "sparse.pth"
    torch.save({"params_ema": sd}, path)
    assert run_cli(capsys, "import", path, "--out", tmp_path / "out")[0] == 0
    assert reference_error(zoo.load(tmp_path / "out").net) < 1e-4
    assert reference_error(zoo.load(path).net) < 1e-4


@pytest.mark.parametrize(
    "value, message",
    [
        (lambda w: w.to(torch.int64), "is torch.int64, but the network holds floating-point"),
        (lambda w: w.to(torch.complex64), "is complex"),
        (lambda w: w.to(torch.bool), "is torch.bool"),
        (lambda w: torch.where(torch.arange(w.numel()).view(w.shape) == 3, torch.tensor(float("nan")), w), "NaN or infinite"),
        (lambda w: w.masked_fill(torch.zeros_like(w, dtype=torch.bool).flatten().index_fill(0, torch.tensor([0]), True).view(w.shape), float("inf")), "NaN or infinite"),
    ],
    ids=["int", "complex", "bool", "nan", "inf"],
)
def test_wrong_dtype_or_non_finite_weights_are_refused(tmp_path, capsys, value, message):
    sd = rrdb_sd()
    sd["conv_first.weight"] = value(sd["conv_first.weight"])
    path = tmp_path / "odd.pth"
    torch.save({"params_ema": sd}, path)
    code, err = run_cli(capsys, "import", path, "--out", tmp_path / "out")
    assert code == 1 and message in err and not (tmp_path / "out").exists()


def test_integer_weights_in_a_converted_folder_are_refused(tmp_path):
    from safetensors.torch import save_file

    folder = tmp_path / "converted"
    importing.import_file(RRDB_FILE, out=folder)
    sd = load_file(str(folder / "model.safetensors"))
    sd["conv_first.weight"] = sd["conv_first.weight"].to(torch.int32)
    save_file(sd, str(folder / "model.safetensors"))
    config = json.loads((folder / "config.json").read_text())
    config.pop("weights_sha256")  # as an older or hand-made folder would have it
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="is torch.int32"):
        zoo.load(folder)


# -- registry names, pins and integrity ---------------------------------------------------------


def test_import_under_a_registry_name_must_be_that_network(tmp_path, capsys, fresh_cache):
    from zoo.archs.cyclegan import ResnetGenerator

    tiny = ResnetGenerator(ngf=8, n_blocks=9)
    path = tmp_path / "horse2zebra.pth"
    torch.save(tiny.state_dict(), path)
    code, err = run_cli(capsys, "import", path, "--name", "cyclegan-horse2zebra@AtoB")
    assert code == 1 and "not cyclegan-horse2zebra@AtoB's network" in err and "ngf=8 (expected 64)" in err
    assert not weights.available_locally(zoo.info("cyclegan-horse2zebra"))
    six = ResnetGenerator(n_blocks=6)
    torch.save(six.state_dict(), path)
    code, err = run_cli(capsys, "import", path, "--name", "cyclegan-horse2zebra@AtoB", "--config", '{"netG": "resnet_6blocks"}')
    assert code == 1 and "n_blocks=6 (expected 9)" in err


# The released file each manifest describes, and the registry entry that downloads it.
MANIFEST_ENTRIES = {
    "RealESRGAN_x4plus": "realesrgan-x4plus", "RealESRGAN_x2plus": "realesrgan-x2plus", "RealESRNet_x4plus": "realesrnet-x4plus",
    "RealESRGAN_x4plus_anime_6B": "realesrgan-x4plus-anime-6b", "realesr-general-x4v3": "realesr-general-x4v3",
    "realesr-general-wdn-x4v3": "realesr-general-wdn-x4v3", "realesr-animevideov3": "realesr-animevideov3",
    "RRDB_ESRGAN_x4": "esrgan-x4", "RRDB_ESRGAN_x4_old_arch": "esrgan-x4", "RRDB_PSNR_x4": "esrgan-psnr-x4",
    "cyclegan_horse2zebra": "cyclegan-horse2zebra@AtoB", "cyclegan_style_monet": "cyclegan-monet2photo@BtoA",
    "pix2pix_facades_label2photo": "pix2pix-facades@AtoB",
}
UNREGISTERED_MANIFESTS = {"ESRGAN_SRx4_DF2KOST_official-ff704c30"}  # BasicSR's own ESRGAN: no entry


def test_every_manifest_is_mapped_to_its_entry():
    stems = {p.stem for family in ("esrgan", "pix2pix_cyclegan") for p in (PARITY / family / "manifests").glob("*.json")}
    assert stems == set(MANIFEST_ENTRIES) | UNREGISTERED_MANIFESTS


@pytest.mark.parametrize("stem, name", sorted(MANIFEST_ENTRIES.items()))
def test_registry_arch_kwargs_are_the_released_networks(stem, name):
    """The registry's arch_kwargs (what an import under that name must match) are the manifests' shapes."""
    from zoo.formats import convert_checkpoint

    family = "esrgan" if (PARITY / "esrgan" / "manifests" / f"{stem}.json").exists() else "pix2pix_cyclegan"
    facts = json.loads((PARITY / family / "manifests" / f"{stem}.json").read_text())
    official = {k: torch.empty(shape, device="meta") for k, shape in facts["state_dict"].items()}
    wrapped = {facts["wrapper_keys"][0]: official} if facts.get("wrapper_keys") else official
    info = zoo.info(name)
    converted = convert_checkpoint(wrapped, official_kwargs=info.config or None)
    importing.check_entry(converted, info)
    expected = build(info.arch, info.arch_kwargs, meta=True).state_dict()
    assert {k: list(v.shape) for k, v in converted.state_dict.items()} == {k: list(v.shape) for k, v in expected.items()}


def url_entry(name: str, url: str) -> ModelInfo:
    return ModelInfo(name=name, family="esrgan", task="upscale", title=name, description="test", licence="BSD-3-Clause",
                     sources=(UrlSource(url),), card="realesrgan-x4plus.md", arch="rrdbnet", options=UpscaleOptions(scale=4))


def test_first_download_without_published_sha256_is_pinned(online, fresh_cache, file_server, temp_entries):
    data = RRDB_FILE.read_bytes()
    file_server.add("w/nosha.pth", data)
    info = temp_entries(url_entry("no-sha", file_server.url_for("w/nosha.pth")))
    folder = weights.download_model(info)
    pin = json.loads(cache.pin_path(info, info.sources[0]).read_text())
    assert pin["sha256"] == hashlib.sha256(data).hexdigest() and pin["size"] == len(data)
    file_server.corrupt("w/nosha.pth")  # same length, one byte flipped
    with pytest.raises(IntegrityError, match="not the file first downloaded for no-sha"):
        weights.download_model(info, force=True)
    assert not list((fresh_cache / "downloads").iterdir()), "the bad download is removed"
    assert reference_error(zoo.load("no-sha").net) < 1e-4 and cache.cached_folder(info) == folder


def test_converted_weights_are_verified_on_every_load(tmp_path, fresh_cache, capsys, photo):
    folder = tmp_path / "converted"
    importing.import_file(RRDB_FILE, out=folder)
    data = bytearray((folder / "model.safetensors").read_bytes())
    data[-10] ^= 0xFF  # one weight's byte, same length
    (folder / "model.safetensors").write_bytes(bytes(data))
    code, err = run_cli(capsys, "upscale", "--model", folder, photo, tmp_path / "o.png", "--quiet")
    assert code == 1 and "has changed since it was converted" in err
    assert (folder / "model.safetensors").exists(), "a user's folder is reported, never deleted"


def test_a_damaged_cache_copy_is_converted_again(fresh_cache):
    info = zoo.info("realesr-animevideov3")
    first = zoo.load("realesr-animevideov3")
    folder = cache.cached_folder(info)
    data = bytearray((folder / "model.safetensors").read_bytes())
    data[-10] ^= 0xFF
    (folder / "model.safetensors").write_bytes(bytes(data))
    again = zoo.load("realesr-animevideov3")  # offline: re-converted from the packaged copy
    for a, b in zip(first.net.state_dict().values(), again.net.state_dict().values()):
        assert torch.equal(a, b)


# -- smaller: permissions, leftovers -----------------------------------------------------------


@pytest.mark.parametrize("umask, dir_mode, file_mode", [(0o022, 0o755, 0o644), (0o002, 0o775, 0o664)])
def test_converted_folders_follow_the_umask(tmp_path, umask, dir_mode, file_mode):
    old = os.umask(umask)
    try:
        folder, _ = importing.import_file(RRDB_FILE, out=tmp_path / "out")
    finally:
        os.umask(old)
    assert folder.stat().st_mode & 0o777 == dir_mode
    assert {p.name: p.stat().st_mode & 0o777 for p in folder.iterdir()} == dict.fromkeys(["README.md", "config.json", "model.safetensors"], file_mode)


def test_leftovers_of_a_killed_conversion_are_cleaned(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    orphan = tmp_path / f".out.zoo-tmp-{dead}-0badc0de"
    orphan.mkdir()
    (orphan / "model.safetensors").write_bytes(b"half")
    mine = tmp_path / f".other.zoo-tmp-{os.getpid()}-00000001"  # a live process's: kept
    mine.mkdir()
    user = tmp_path / ".user-folder"
    user.mkdir()
    importing.import_file(RRDB_FILE, out=tmp_path / "out")
    assert not orphan.exists() and mine.exists() and user.exists()
    interrupted_swap = tmp_path / f".gone.zoo-old-{dead}-0badc0de"  # killed between the two renames
    interrupted_swap.mkdir()
    clean_leftovers(tmp_path)
    assert (tmp_path / "gone").is_dir() and not interrupted_swap.exists()


def test_a_killed_import_leaves_the_target_untouched(tmp_path):
    out = tmp_path / "out"
    importing.import_file(RRDB_FILE, out=out)
    before = (out / "config.json").read_text()
    script = (
        "import os, signal, zoo.importing as w\n"
        "real = w.download.sha256_file\n"
        "def die(path):\n    os.kill(os.getpid(), signal.SIGKILL)\n"
        "w.download.sha256_file = die\n"
        f"w.import_file({str(SRVGG_FILE)!r}, out=__import__('pathlib').Path({str(out)!r}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == -9
    assert (out / "config.json").read_text() == before and reference_error(zoo.load(out).net) < 1e-4
    leftovers = [p for p in tmp_path.iterdir() if p.name != "out"]
    assert len(leftovers) == 1 and ".zoo-tmp-" in leftovers[0].name
    importing.import_file(SRVGG_FILE, out=tmp_path / "next")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["next", "out"]


def test_replace_file_keeps_the_old_file_when_writing_fails(tmp_path):
    from zoo.atomic import replace_file

    dest = tmp_path / "latent.npz"
    dest.write_bytes(b"old")
    os.chmod(dest, 0o640)
    with pytest.raises(RuntimeError):
        with replace_file(dest) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("interrupted")
    assert dest.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["latent.npz"]
    with replace_file(dest) as tmp:
        tmp.write_bytes(b"new")
    assert dest.read_bytes() == b"new" and dest.stat().st_mode & 0o777 == 0o640  # an existing file keeps its mode
