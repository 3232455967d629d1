"""The weights pipeline against real local servers: download, verify, convert, cache, offline, push."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch
from safetensors.torch import load_file

import zoo
import zoo.formats
from conftest import PARITY
from zoo import cache, cli, importing, weights
from zoo.errors import IntegrityError, OfflineError
from zoo.registry import HubSource, ManualSource, ModelInfo, UrlSource
from zoo.tasks.options import UpscaleOptions

CASE = PARITY / "esrgan" / "realesrgan_rrdbnet_x4_f16_b2_g8"
CKPT = (CASE / "checkpoint.pth").read_bytes()
SHA = hashlib.sha256(CKPT).hexdigest()


def entry(name: str, *sources, arch: str = "rrdbnet") -> ModelInfo:
    return ModelInfo(
        name=name, family="esrgan", task="upscale", title=name, description="test entry", licence="BSD-3-Clause",
        sources=tuple(sources), card="realesrgan-x4plus.md", arch=arch, options=UpscaleOptions(scale=4),
    )


def reference_output(net) -> float:
    io = load_file(str(CASE / "io.safetensors"))
    with torch.no_grad():
        return (net(io["input"]) - io["output"]).abs().max().item()


def test_url_source_downloads_converts_caches_and_then_works_offline(online, fresh_cache, file_server, temp_entries, monkeypatch):
    file_server.add("releases/tiny.pth", CKPT)
    info = temp_entries(entry("tiny-url", UrlSource(file_server.url_for("releases/tiny.pth"), sha256=SHA, size=len(CKPT))))
    up = zoo.load("tiny-url")
    assert reference_output(up.net) < 1e-4
    folder = cache.cached_folder(info)
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    config = json.loads((folder / "config.json").read_text())
    assert config["source"] == {"kind": "url", "url": file_server.url_for("releases/tiny.pth"), "sha256": SHA}
    assert config["arch"] == "rrdbnet" and config["converted_from"] == "basicsr-rrdbnet"
    assert not list((fresh_cache / "downloads").iterdir()), "the raw pickle is removed after conversion"

    requests = len(file_server.request_log)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def no_conversion(*args, **kwargs):
        raise AssertionError("a cached model must not be converted again")

    monkeypatch.setattr(zoo.formats, "read_official", no_conversion)
    again = zoo.load("tiny-url")
    assert len(file_server.request_log) == requests
    assert reference_output(again.net) < 1e-4


def test_truncated_download_is_removed_and_reported(online, fresh_cache, file_server, temp_entries):
    file_server.add("tiny.pth", CKPT)
    file_server.truncate("tiny.pth")
    temp_entries(entry("tiny-cut", UrlSource(file_server.url_for("tiny.pth"), sha256=SHA)))
    with pytest.raises(OfflineError, match="cut short|IncompleteRead|cannot reach"):
        zoo.load("tiny-cut")
    assert not any(fresh_cache.rglob("*.pth*")) and not (fresh_cache / "models" / "tiny-cut").exists()


def test_corrupted_download_is_removed_and_never_loaded(online, fresh_cache, file_server, temp_entries):
    file_server.add("tiny.pth", CKPT)
    file_server.corrupt("tiny.pth")
    temp_entries(entry("tiny-bad", UrlSource(file_server.url_for("tiny.pth"), sha256=SHA)))
    with pytest.raises(IntegrityError, match="corrupt or not the expected file") as err:
        zoo.load("tiny-bad")
    assert "removed" in str(err.value)
    assert not any(fresh_cache.rglob("*.pth*")) and not (fresh_cache / "models" / "tiny-bad").exists()


def test_http_error_moves_on_and_names_the_fix(online, fresh_cache, file_server, temp_entries):
    temp_entries(entry("tiny-404", UrlSource(file_server.url_for("missing.pth"), sha256=SHA)))
    with pytest.raises(OfflineError) as err:
        zoo.load("tiny-404")
    message = str(err.value)
    assert "HTTP 404" in message and "zoo download tiny-404" in message
    assert "\n" not in message


def test_offline_without_cache_names_download_and_import_commands(fresh_cache, temp_entries):
    temp_entries(entry("tiny-offline", UrlSource("https://example.invalid/RealESRGAN_tiny.pth", sha256=SHA)))
    with pytest.raises(OfflineError) as err:
        zoo.load("tiny-offline")
    message = str(err.value)
    assert "zoo download tiny-offline" in message
    assert "zoo import RealESRGAN_tiny.pth --name tiny-offline" in message
    assert "https://example.invalid/RealESRGAN_tiny.pth" in message


def test_manual_source_message(fresh_cache):
    with pytest.raises(OfflineError) as err:
        zoo.load("esrgan-psnr-x4")
    message = str(err.value)
    assert message.startswith("esrgan-psnr-x4 has no direct download: fetch https://drive.google.com/")
    assert "zoo import RRDB_PSNR_x4.pth --name esrgan-psnr-x4" in message


def test_import_by_name_checks_digest_and_fills_the_cache(fresh_cache, temp_entries, tmp_path, capsys):
    temp_entries(entry("tiny-import", UrlSource("https://example.invalid/tiny.pth", sha256=SHA), ManualSource("https://example.invalid/", "tiny.pth")))
    assert cli.main(["import", str(CASE / "checkpoint.pth"), "--name", "tiny-import"]) == 0
    out = capsys.readouterr().out
    assert "detected: esrgan / basicsr-rrdbnet (wrapper 'params_ema')" in out
    assert "100,307 parameters" in out
    assert reference_output(zoo.load("tiny-import").net) < 1e-4  # offline, from the imported cache
    other = PARITY / "esrgan" / "realesr_srvgg_x4_prelu_f16_c4" / "checkpoint.pth"
    assert cli.main(["import", str(other), "--name", "realesrgan-x4plus"]) == 1
    assert "is not the official file of realesrgan-x4plus" in capsys.readouterr().err


def test_packaged_model_loads_offline_and_caches(fresh_cache):
    up = zoo.load("realesr-animevideov3")
    assert up.folder_config["source"]["kind"] == "packaged"
    assert up.folder_config["arch_kwargs"] == {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 64, "num_conv": 16, "upscale": 4, "act_type": "prelu"}
    folder = cache.cached_folder(zoo.info("realesr-animevideov3"))
    assert folder is not None and folder.parent.name == "realesr-animevideov3"


def test_hub_file_source_pinned_revision(online, fresh_cache, local_hub, temp_entries):
    sha = local_hub.add_repo("someone/tiny-esrgan", {"RealESRGAN_tiny.pth": CKPT})
    local_hub.commit_files("someone/tiny-esrgan", {"RealESRGAN_tiny.pth": b"a later, different file"})
    info = temp_entries(entry("tiny-hub", HubSource("someone/tiny-esrgan", revision=sha, filename="RealESRGAN_tiny.pth", sha256=SHA)))
    assert reference_output(zoo.load("tiny-hub").net) < 1e-4  # the pinned commit, not the branch head
    assert cache.cached_folder(info).name.startswith("hub-someone--tiny-esrgan-")


def test_hub_corruption_is_detected_and_evicted(online, fresh_cache, local_hub, temp_entries):
    sha = local_hub.add_repo("someone/flaky", {"tiny.pth": CKPT})
    local_hub.corrupt("someone/flaky", "tiny.pth", mode="flip")
    temp_entries(entry("tiny-flaky", HubSource("someone/flaky", revision=sha, filename="tiny.pth", sha256=SHA)))
    with pytest.raises(IntegrityError):
        zoo.load("tiny-flaky")
    assert not [p for p in (fresh_cache / "hub").rglob("tiny.pth") if p.exists()], "the bad file must not stay in the Hub cache"
    local_hub.clear_faults()
    assert reference_output(zoo.load("tiny-flaky").net) < 1e-4


def test_push_download_and_load_round_trip(online, fresh_cache, local_hub, tmp_path, capsys):
    converted = tmp_path / "tiny-converted"
    assert cli.main(["import", str(CASE / "checkpoint.pth"), "--out", str(converted)]) == 0
    assert cli.main(["push", str(converted), "--repo", "me/tiny-esrgan", "--token", "test-token"]) == 0
    assert "pushed" in capsys.readouterr().out
    commit = local_hub.head("me/tiny-esrgan")
    files = local_hub.files_at("me/tiny-esrgan", commit)
    assert {"model.safetensors", "config.json", "README.md"} <= set(files)
    assert files["model.safetensors"] == (converted / "model.safetensors").read_bytes()
    up = zoo.load(f"hf:me/tiny-esrgan@{commit}")
    assert reference_output(up.net) < 1e-4


def test_push_offline_is_refused(fresh_cache, tmp_path, capsys):
    converted = tmp_path / "c"
    assert cli.main(["import", str(CASE / "checkpoint.pth"), "--out", str(converted)]) == 0
    assert cli.main(["push", str(converted), "--repo", "me/x"]) == 1
    assert "offline" in capsys.readouterr().err


def test_download_command(online, fresh_cache, file_server, temp_entries, capsys, monkeypatch):
    file_server.add("tiny.pth", CKPT)
    temp_entries(entry("tiny-dl", UrlSource(file_server.url_for("tiny.pth"), sha256=SHA)))
    assert cli.main(["download", "tiny-dl"]) == 0
    assert "tiny-dl:" in capsys.readouterr().out
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert cli.main(["download", "realesrgan-x2plus"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot download realesrgan-x2plus: offline") and err.count("\n") == 1


def test_download_error_types():
    from zoo.download import download_url

    with pytest.raises(OfflineError):
        download_url("http://127.0.0.1:9/x.pth", cache.cache_root() / "x.pth")  # offline by default in tests


def test_unreachable_server_falls_back_to_the_packaged_copy(online, fresh_cache, temp_entries):
    packaged = zoo.info("realesr-animevideov3").sources[1]
    assert packaged.kind == "packaged"
    temp_entries(entry("anime-fallback", UrlSource("http://127.0.0.1:9/realesr-animevideov3.pth"), packaged, arch="srvgg"))
    up = zoo.load("anime-fallback")
    assert up.folder_config["source"]["kind"] == "packaged"
    temp_entries(entry("unreachable-only", UrlSource("http://127.0.0.1:9/x.pth")))
    with pytest.raises(OfflineError, match=r"unreachable-only is not available \(cannot reach http://127.0.0.1:9/x.pth"):
        zoo.load("unreachable-only")


def test_hub_prefers_a_safetensors_sibling_over_the_pickle(online, fresh_cache, local_hub, temp_entries):
    from safetensors.torch import save_file

    sd = torch.load(CASE / "checkpoint.pth", weights_only=True)["params_ema"]
    save_file({k: v.contiguous() for k, v in sd.items()}, str(fresh_cache.parent / "tiny.safetensors"))
    sha = local_hub.add_repo("someone/both", {"tiny.pth": CKPT, "tiny.safetensors": (fresh_cache.parent / "tiny.safetensors").read_bytes()})
    temp_entries(entry("tiny-both", HubSource("someone/both", revision=sha, filename="tiny.pth", sha256=SHA)))
    up = zoo.load("tiny-both")
    assert up.folder_config["source"]["filename"] == "tiny.safetensors"
    assert not local_hub.requests("GET", contains="tiny.pth"), "the pickle was never fetched"
    assert reference_output(up.net) < 1e-4


def test_hub_content_is_checked_even_without_a_registry_digest(online, fresh_cache, local_hub, tmp_path):
    converted = tmp_path / "conv"
    importing.import_file(CASE / "checkpoint.pth", out=converted)
    files = {name: (converted / name).read_bytes() for name in ("model.safetensors", "config.json", "README.md")}
    sha = local_hub.add_repo("me/folder", files)
    local_hub.corrupt("me/folder", "model.safetensors", mode="flip", times=1)
    with pytest.raises(IntegrityError, match="me/folder/model.safetensors from the Hub is corrupt"):
        zoo.load(f"hf:me/folder@{sha}")
    assert reference_output(zoo.load(f"hf:me/folder@{sha}").net) < 1e-4  # the bad blob was evicted


def test_bundled_source(fresh_cache, temp_entries, tmp_path, monkeypatch):
    from zoo.registry import BundledSource

    bundle = tmp_path / "bundled"
    importing.import_file(CASE / "checkpoint.pth", out=bundle / "tiny")
    monkeypatch.setattr(cache, "BUNDLED_DIR", bundle)
    info = temp_entries(entry("tiny-bundled", BundledSource("tiny")))
    assert weights.available_locally(info)
    up = zoo.load("tiny-bundled")
    assert reference_output(up.net) < 1e-4
    assert not (fresh_cache / "models" / "tiny-bundled").exists(), "bundled weights are used in place"
