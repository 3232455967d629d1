"""The app's machinery, in-process: the shared model cache (memory cap, threads), a run's progress
and time estimate, stopping a run whose request is gone, result file names."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

gr = pytest.importorskip("gradio")
torch = pytest.importorskip("torch")

from zoo.app import models, runs  # noqa: E402


class Fake:
    """A task object holding ``mb`` megabytes of weights."""

    def __init__(self, mb: float) -> None:
        self.net = torch.nn.Linear(1, int(mb * 2**20 / 4), bias=False)


def test_footprint_counts_every_network_once():
    fake = Fake(1)
    assert models.footprint(fake) == 2**20
    fake.nets = {"AtoB": fake.net, "BtoA": torch.nn.Linear(1, 2**18, bias=False)}  # the same net twice counts once
    assert models.footprint(fake) == 2 * 2**20


def test_cache_drops_least_recently_used_beyond_its_memory_budget():
    loads = []
    cache = models.ModelCache(budget=3 * 2**20, loader=lambda name: loads.append(name) or Fake(1))
    a = cache.get("a")
    cache.get("b")
    cache.get("c")
    assert cache.get("a") is a and cache.held_bytes() == 3 * 2**20
    cache.get("d")  # over the budget: b, the least recently used, goes
    assert cache.names() == ["c", "a", "d"] and loads == ["a", "b", "c", "d"]
    big = models.ModelCache(budget=2**20, loader=lambda name: Fake(4))
    assert big.get("huge") is not None and big.names() == ["huge"]  # one model larger than the budget still runs


def test_a_slow_load_blocks_neither_other_models_nor_loads_twice():
    release = threading.Event()
    loads = []

    def loader(name):
        loads.append(name)
        if name == "slow":
            assert release.wait(10)
        return Fake(0.01)

    cache = models.ModelCache(budget=2**30, loader=loader)
    fast = cache.get("fast")
    results = []
    waiters = [threading.Thread(target=lambda: results.append(cache.get("slow"))) for _ in range(3)]
    for w in waiters:
        w.start()
    time.sleep(0.2)
    start = time.monotonic()
    assert cache.get("fast") is fast and cache.get("other") is not None  # not blocked by the slow load
    assert time.monotonic() - start < 0.5
    release.set()
    for w in waiters:
        w.join(10)
    assert len(results) == 3 and results[0] is results[1] is results[2]
    assert loads.count("slow") == 1


class Recorder:
    """Stands in for gr.Progress: records (fraction, desc)."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, str]] = []

    def __call__(self, fraction, desc=None, **_):
        self.calls.append((fraction, desc))


def test_run_reports_load_then_progress_with_time_left(monkeypatch):
    monkeypatch.setattr(runs, "TICK_S", 0.05)
    monkeypatch.setitem(runs.SPEEDS, "m", 1e9)  # 1 GFLOP/s measured for this model
    rec = Recorder()
    run = runs.Run(rec, "Upscaling", "tiles")
    run.load("Model M", lambda: object(), loaded=False)
    assert rec.calls[0] == (0.0, "Loading Model M (once; later runs reuse it)")
    with run.computing("m", 4e8, units=2):  # 0.4 s expected, two tiles
        time.sleep(0.25)  # one long tile: the ticker moves the bar meanwhile
        run.step(1, 2)
        time.sleep(0.15)
        run.step(2, 2)
    assert rec.calls[1] == (0.0, "Upscaling · under a second expected")
    during_first_tile = [f for f, d in rec.calls[2:] if "tile 1 of 2" in d]
    assert len(during_first_tile) >= 2 and 0 < during_first_tile[-1] <= 0.5 and during_first_tile == sorted(during_first_tile)
    assert any("tile 2 of 2" in d and "left" in d for _, d in rec.calls)
    assert runs.SPEEDS["m"] != 1e9  # the measured speed is folded in


def test_run_stops_when_the_request_is_gone(monkeypatch):
    """A run whose request went away raises at its next check; on the CPU fast path that is the
    next convolution, so a long forward pass stops part-way."""
    from zoo.archs import build

    alive = [True]
    monkeypatch.setattr(runs, "request_alive", lambda: alive[0])
    net = build("srvgg", {"num_conv": 16}).eval()
    calls = []
    original = runs.Run.check

    def counting_check(self):
        calls.append(1)
        if len(calls) == 5:
            alive[0] = False  # the visitor pressed Stop during the forward pass
        original(self)

    monkeypatch.setattr(runs.Run, "check", counting_check)
    run = runs.Run(None, "Upscaling")
    with pytest.raises(gr.Error, match="Stopped: the run was cancelled"):
        with run.computing("srvgg-test", 0), torch.inference_mode():
            net(torch.rand(1, 3, 32, 32))
    assert len(calls) == 5  # stopped at the fifth convolution of eighteen


def test_every_model_of_a_tab_has_a_work_estimate():
    """The FLOPs probe drives every front-end network on the meta device (no fallback hides a failure)."""
    import zoo
    from zoo.families import front_end_tasks

    for info in zoo.list_models():
        if info.task in front_end_tasks():
            assert runs.flops_per_unit(info) > 0, info.name


def test_request_alive_reads_gradios_queue():
    from gradio.context import LocalContext

    class Event:
        def __init__(self, _id):
            self._id, self.alive = _id, True

    class Queue:
        active_jobs = [None, [Event("e1")]]

    class Blocks:
        _queue = Queue()

    assert runs.request_alive()  # outside a request
    t1, t2 = LocalContext.blocks.set(Blocks()), LocalContext.event_id.set("e1")
    try:
        assert runs.request_alive()
        Queue.active_jobs[1][0].alive = False  # the page was closed
        assert not runs.request_alive()
        Queue.active_jobs[1] = None  # cancelled: gone from the active jobs
        assert not runs.request_alive()
    finally:
        LocalContext.blocks.reset(t1)
        LocalContext.event_id.reset(t2)


def test_result_files_are_named_and_kept_apart(tmp_path, monkeypatch, request):
    from PIL import Image

    runs.output_dir.cache_clear()  # this test's own result folder ...
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    request.addfinalizer(runs.output_dir.cache_clear)  # ... and none of it left for later tests
    image = Image.new("RGB", (4, 4))
    first = runs.save_result(image, runs.stem_of({"path": "/tmp/x/abc", "orig_name": "My Photo (1).jpg"}), "realesrgan-x4plus", "x4")
    second = runs.save_result(image, "My-Photo-1", "realesrgan-x4plus", "x4")
    assert Path(first).name == Path(second).name == "My-Photo-1-realesrgan-x4plus-x4.png" and first != second
    assert Path(first).is_relative_to(tmp_path)  # inside Gradio's cache folder, nowhere else
    assert runs.stem_of(None) == "image" and runs.stem_of({"path": "/t/../../etc/passwd"}) == "passwd"
    assert runs.duration(0.4) == "under a second" and runs.duration(42) == "about 42 s" and runs.duration(600) == "about 10 min"
