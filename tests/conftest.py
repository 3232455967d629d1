"""Shared fixtures: an isolated cache, offline by default, and local Hub / file servers.

No test reaches the internet: every test starts offline (HF_HUB_OFFLINE=1) with HF_ENDPOINT
pointing at a closed local port. Tests that exercise downloads use ``online`` together with
``local_hub`` / ``file_server``, real HTTP servers on 127.0.0.1.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")  # huggingface_hub reads these at import
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.pop("HF_HUB_OFFLINE", None)  # offline is set per test below, so the client constant stays False

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
PARITY = TESTS / "fixtures" / "parity"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from support.file_server import FileServer  # noqa: E402
from support.hub_server import LocalHub  # noqa: E402

CLOSED_ENDPOINT = "http://127.0.0.1:9"  # discard port: nothing listens, connections are refused


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One gan-zoo cache for the session, so packaged models are converted once."""
    return tmp_path_factory.mktemp("zoo-cache")


@pytest.fixture(autouse=True)
def offline_zoo(monkeypatch: pytest.MonkeyPatch, shared_cache: Path) -> None:
    monkeypatch.setenv("ZOO_CACHE", str(shared_cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_ENDPOINT", CLOSED_ENDPOINT)
    monkeypatch.delenv("ZOO_OFFLINE", raising=False)
    for name in ("ZOO_MAX_MEGAPIXELS", "ZOO_MAX_PARAMETERS", "ZOO_DOWNLOAD_DEADLINE", "ZOO_MAX_DOWNLOAD_BYTES"):
        monkeypatch.delenv(name, raising=False)  # a developer's own limits must not change the tests


@pytest.fixture
def fresh_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty gan-zoo cache for this test only."""
    cache = tmp_path / "zoo-cache"
    monkeypatch.setenv("ZOO_CACHE", str(cache))
    return cache


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    """Allow network access (to the local servers only: HF_ENDPOINT is still local)."""
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)


@pytest.fixture
def local_hub(monkeypatch: pytest.MonkeyPatch):
    with LocalHub() as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        yield hub


@pytest.fixture
def file_server():
    with FileServer() as server:
        yield server


@pytest.fixture
def temp_entries():
    """Register ModelInfo entries for one test: ``temp_entries(info, ...)``; removed afterwards."""
    from zoo import registry

    added: list[str] = []

    def add(*infos):
        for info in infos:
            registry.register(info, replace=True)
            added.append(info.name)
        return infos[0] if len(infos) == 1 else infos

    yield add
    for name in added:
        registry.unregister(name)


@pytest.fixture
def fast_path_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Class names of the networks whose forward took the fast path (``zoo.archs.fast_path.gate``
    said yes), in call order: a fast-path test fails if the fast path is skipped silently."""
    from zoo.archs import fast_path

    calls: list[str] = []
    gate = fast_path.gate

    def spying_gate(net, x):
        ok = gate(net, x)
        if ok:
            calls.append(type(net).__name__)
        return ok

    monkeypatch.setattr(fast_path, "gate", spying_gate)
    return calls


def parity_case(family: str, name: str) -> Path:
    return PARITY / family / name


@pytest.fixture(scope="session")
def astronaut():
    """A natural RGB test image (scikit-image's astronaut), uint8 H x W x 3."""
    from skimage import data

    return data.astronaut()
