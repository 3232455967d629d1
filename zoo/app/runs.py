"""One request's run in the app: honest progress with a time estimate, cancellation, result files.

A run goes through two phases the page shows: *loading* the model (skipped when it is already in
``models.MODELS``) and *computing* a known amount of work (network FLOPs). The library reports
finished units (tiles, projection steps) through its ``progress(done, total)`` callbacks; between
them a ticker thread moves the bar once a second along the expected time, so a single 70-second
tile no longer sits at 0 %. The estimate comes from this model's measured speed on this machine
(``SPEEDS``, FLOP/s of its earlier runs in this process), else from a one-off measurement of the
machine's convolution speed (``machine_flops``).

A run stops computing as soon as its request is gone (the visitor pressed Stop, closed the page,
or a client cancelled): on the CPU fast path within one convolution (``fast_path.interruptible``),
otherwise at the next tile or step.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import gradio as gr

from .messages import user_error

SPEEDS: dict[str, float] = {}  # model key -> measured FLOP/s of its runs here (moving average)
_LOCK = threading.Lock()
TICK_S = 1.0


class Cancelled(Exception):
    """The request of this run is gone; computing stops."""


# -- is anyone still waiting? --------------------------------------------------------------------


def request_alive() -> bool:
    """False once the request being served in this context was cancelled or its page closed.

    Reads Gradio's queue (the event is still among the active jobs and still ``alive``); outside a
    queued request (a direct call, a test) it is always True."""
    from gradio.context import LocalContext

    blocks = LocalContext.blocks.get(None)
    event_id = LocalContext.event_id.get(None)
    queue = getattr(blocks, "_queue", None)
    if queue is None or not event_id:
        return True
    for job in list(queue.active_jobs):
        for event in job or ():
            if event._id == event_id:
                return bool(event.alive)
    return False


# -- speed ---------------------------------------------------------------------------------------


@functools.cache
def machine_flops() -> float:
    """FLOP/s of a 3x3 convolution (64 -> 64 channels) on this machine, measured once (~0.2 s)."""
    import torch
    from torch.nn import functional as F

    x = torch.rand(1, 64, 96, 96)
    w = torch.rand(64, 64, 3, 3)
    flops = 2 * 64 * 64 * 9 * 96 * 96
    with torch.inference_mode():
        F.conv2d(x, w, padding=1)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            F.conv2d(x, w, padding=1)
            times.append(time.perf_counter() - start)
    return flops / max(sorted(times)[1], 1e-6)


def flops_of(net: Any, *inputs: Any) -> float:
    """FLOPs of one ``net(*inputs)`` call, counted on the meta device (nothing is computed)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        net(*inputs)
    return float(counter.get_total_flops())


def expected_seconds(key: str, flops: float) -> float:
    """Seconds ``flops`` of work of model ``key`` should take here (its measured speed, else the machine's)."""
    speed = SPEEDS.get(key) or machine_flops()
    return flops / speed


def record_speed(key: str, flops: float, seconds: float) -> None:
    if flops <= 0 or seconds <= 0.05:
        return
    speed = flops / seconds
    with _LOCK:
        old = SPEEDS.get(key)
        SPEEDS[key] = speed if old is None else 0.5 * old + 0.5 * speed


def duration(seconds: float) -> str:
    """'about 40 s', 'about 3 min', 'under a second'."""
    if seconds < 1:
        return "under a second"
    if seconds < 90:
        return f"about {max(1, round(seconds)):d} s"
    if seconds < 5400:
        return f"about {round(seconds / 60):d} min"
    return f"about {seconds / 3600:.1f} h"


# -- the run -------------------------------------------------------------------------------------


class Run:
    """Progress, estimate and cancellation of one request: ``load`` the model, then run the library
    call inside ``computing(key, flops, units)``, passing ``step`` as its progress callback.

    ``verb`` names the computing phase ("Upscaling"); ``unit`` what the library counts ("tiles").
    """

    def __init__(self, progress: gr.Progress | None, verb: str, unit: str = "tiles") -> None:
        self.progress = progress
        self.verb, self.unit = verb, unit
        self.done, self.total, self.note = 0, 0, ""
        self.started = self.expected = 0.0
        self._lock = threading.Lock()

    def load(self, title: str, get: Callable[[], Any], loaded: bool) -> Any:
        """``get()`` the model, saying so when it has to be loaded."""
        self.check()
        if not loaded:
            self._show(0.0, f"Loading {title} (once; later runs reuse it)")
        model = get()
        self.check()
        return model

    @contextlib.contextmanager
    def computing(self, key: str, flops: float, units: int = 0) -> Iterator["Run"]:
        """Around the library call of model ``key`` (``flops`` of network work in ``units`` steps the
        library reports; 0 when not known ahead): a ticker moves the bar between steps, the call
        stops part-way when the request goes, and its speed is recorded for later estimates."""
        from zoo.archs import fast_path

        self.total = int(units)
        self.expected = expected_seconds(key, flops) if flops > 0 else 0.0
        self.started = time.monotonic()
        self._show(0.0, f"{self.verb} · {duration(self.expected)} expected" if self.expected else self.verb)
        stop = threading.Event()
        context = contextvars.copy_context()  # the ticker reports into this request's progress bar
        threading.Thread(target=context.run, args=(self._tick_loop, stop), daemon=True).start()
        try:
            with fast_path.interruptible(self.check):
                yield self
        except Cancelled:
            raise user_error("Stopped: the run was cancelled.") from None
        finally:
            stop.set()
        record_speed(key, flops, time.monotonic() - self.started)

    def step(self, done: int, total: int, note: str = "") -> None:
        """The library's progress callback: ``done`` of ``total`` units finished."""
        self.check()
        with self._lock:
            self.done, self.total, self.note = done, total, note
        self._report()

    def check(self) -> None:
        """Raise ``Cancelled`` when the request is gone."""
        if not request_alive():
            raise Cancelled()

    # -- reporting ---------------------------------------------------------------------------

    def remaining(self) -> float:
        """Seconds left: this run's own pace once a unit is done, else the expected time."""
        elapsed = time.monotonic() - self.started
        with self._lock:
            done, total = self.done, self.total
        if done and total:
            return max(0.0, elapsed / done * (total - done))
        return max(0.0, self.expected - elapsed)

    def fraction(self) -> float:
        elapsed = time.monotonic() - self.started
        with self._lock:
            done, total = self.done, self.total
        by_time = elapsed / self.expected if self.expected > 0 else 0.0
        if total:
            per_unit = 1.0 / total
            return min(1.0, done * per_unit + min(per_unit * 0.95, max(0.0, by_time - done * per_unit)))
        return min(0.95, by_time)

    def _report(self) -> None:
        with self._lock:
            done, total, note = self.done, self.total, self.note
        where = f" · {self.unit[:-1] if self.unit.endswith('s') else self.unit} {min(done + 1, total)} of {total}" if total > 1 else ""
        left = f" · {duration(self.remaining())} left" if self.expected or done else ""
        self._show(self.fraction(), f"{self.verb}{where}{note}{left}")

    def _tick_loop(self, stop: threading.Event) -> None:
        while not stop.wait(TICK_S):
            if not request_alive():
                return
            self._report()

    def _show(self, fraction: float, desc: str) -> None:
        if self.progress is not None:
            self.progress(fraction, desc=desc)


# -- result files --------------------------------------------------------------------------------

RESULT_LIFETIME_S = 3600


@functools.cache
def output_dir() -> Path:
    """This process's result folder, inside Gradio's cache folder (``GRADIO_TEMP_DIR``, else the
    system's temporary folder + ``gradio``): the app writes nowhere else. Results older than an
    hour are removed as new ones are written."""
    cache = Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")
    cache.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="gan-zoo-results-", dir=cache))


def _prune(folder: Path) -> None:
    import shutil

    cutoff = time.time() - RESULT_LIFETIME_S
    for old in folder.iterdir():
        try:
            if old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass


def stem_of(upload: Any) -> str:
    """A safe file-name stem from an upload's original name ('image' when there is none)."""
    name = ""
    if isinstance(upload, dict):
        name = upload.get("orig_name") or Path(upload.get("path") or "").name
    elif isinstance(upload, (str, Path)):
        name = Path(upload).name
    stem = Path(name).stem
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")[:60]
    return stem or "image"


def save_result(image: Any, *parts: str) -> str:
    """Write ``image`` as PNG named from ``parts`` ('astronaut', 'realesrgan-x4plus', 'x4') and return
    its path: each result gets a folder of its own, so two results of one name never collide."""
    stem = "-".join(re.sub(r"[^A-Za-z0-9._-]+", "-", p).strip("-") for p in parts if p) or "result"
    _prune(output_dir())
    folder = Path(tempfile.mkdtemp(dir=output_dir()))  # one folder per result: the name stays as chosen
    path = folder / f"{stem}.png"
    image.save(path, format="PNG")
    return str(path)


# -- estimates before a run ----------------------------------------------------------------------

_FLOPS_PER_UNIT: dict[str, float] = {}
PROBE_SIDE = 64


def probe_inputs(descriptor: Any, side: int = PROBE_SIDE) -> tuple:
    """Meta-device inputs of one forward call, from the descriptor's ``inputs`` kind."""
    import torch

    side = -(-side // descriptor.size_multiple) * descriptor.size_multiple
    if descriptor.inputs == "latent":
        return (torch.empty(1, descriptor.in_channels, device="meta"),)
    image = torch.empty(1, descriptor.in_channels, side, side, device="meta")
    if descriptor.inputs == "image+mask":
        return image, torch.empty(1, 1, side, side, device="meta")
    return (image,)


def flops_per_unit(info: Any) -> float:
    """FLOPs of registry entry ``info``'s network per input pixel (per image for latent inputs),
    counted once on the meta device."""
    if info.name in _FLOPS_PER_UNIT:
        return _FLOPS_PER_UNIT[info.name]
    from zoo.archs import build

    net = build(info.arch, info.arch_kwargs, meta=True)
    inputs = probe_inputs(net.descriptor)
    pixels = inputs[0].shape[-1] * inputs[0].shape[-2] if net.descriptor.inputs != "latent" else 1
    if net.descriptor.inputs == "image+mask" and hasattr(net, "make_input"):
        inputs = (net.make_input(*inputs), inputs[1])  # the network's own input layout (DeepFill: image, ones, mask)
    if net.descriptor.inputs == "latent" and getattr(net, "c_dim", 0):
        import torch

        inputs = (*inputs, torch.empty(1, net.c_dim, device="meta"))  # a conditional generator's class vector
    flops = flops_of(net, *inputs) / pixels
    _FLOPS_PER_UNIT[info.name] = flops
    return flops
