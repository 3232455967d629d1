#!/usr/bin/env python
"""Load test of the Gradio app: concurrent gradio_client requests against a fresh ``app.py`` server.

    .venv/bin/python benchmarks/bench_app_load.py --requests 24 [--size 64] [--warm] [--port P] [--keep-going]
                                                   [--timeout 900] [--server-log FILE] [--json out.json]

Not part of ``make test`` (nothing under ``tests/`` runs it): it starts a server, takes from half a
minute (20 requests of 64 px on 2 cores) to minutes, and its figures depend on the machine's load.

What it does:

* starts ``.venv/bin/python app.py`` from the repository root as a subprocess, offline
  (``HF_HUB_OFFLINE=1``, analytics off, ``ZOO_CACHE`` and ``GRADIO_TEMP_DIR`` in a temporary
  folder), on 127.0.0.1 and a free port (or ``--port``), and waits until ``GET /config`` answers
  (at most 120 s); the server is stopped at the end (SIGTERM, then SIGKILL), also on errors;
* sends ``--requests`` requests (default 24) at once, one thread and one ``gradio_client.Client``
  per request (clients are connected first, then all requests are released together), mixing the
  tasks round-robin: ``/upscale`` with only the image (default model, realesrgan-x4plus),
  ``/upscale`` with ``model="realesr-animevideov3"``, ``/translate`` with only the image (the
  default, a bundled demo model), ``/generate`` with ``seed=N`` and ``/inpaint`` with an image and
  an L-mode mask (a white square in the middle is the hole). Inputs are centre crops of
  scikit-image's astronaut, chelsea and coffee, resized to ``--size`` x ``--size`` (default 64);
* checks every result: the file opens with Pillow, has the expected size (x4 for upscale, the
  input's for translate and inpaint, the default generator's square resolution for generate), is
  not blank (pixel standard deviation > 2), and for inpaint equals the input outside the hole.

Figures: the wall time from the release of the requests to the last result, throughput
(requests / wall second), latency (submit to result, the upload included) per task and overall
(p50, p95, max), the server's resident memory (VmRSS of the server and its child processes summed,
polled every 0.1 s: before the requests, peak, after; and its VmHWM at the end), the CPU the server
used during the run and the CPU other processes used meanwhile (both in cores, averaged over the
wall time; every latency grows when the latter is high). Throughput and latencies count successful
requests only. The Markdown printed is meant to be pasted into ``benchmarks/RESULTS.md`` by hand;
this script writes nothing there (``--json`` writes the figures and every request's record).

Exit status: 0 when every request succeeded and passed its checks, 1 otherwise (2 for bad
options). Without ``--keep-going`` the run stops at the first failed request (the server is
stopped, the remaining requests abandoned); with it, every request runs to its end and all
failures are listed. Tracebacks in the server log are counted and shown on stderr.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 120.0
CONNECT_TIMEOUT_S = 120.0  # for all clients to connect before the requests are released
STOP_TIMEOUT_S = 15.0
POLL_S = 0.1
MIN_STD = 2.0  # pixel standard deviation below which a result counts as blank
LOAD_WARN = 0.25  # cores used by other processes above which the run is flagged
PHOTOS = ("astronaut", "chelsea", "coffee")


@dataclass(frozen=True)
class Kind:
    """One kind of request: its label, endpoint, extra keyword arguments and output scale."""

    label: str
    api_name: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    scale: int | None = 1  # output side / input side; None: the generator's resolution
    takes_image: bool = True


KINDS = (
    Kind("upscale (default: realesrgan-x4plus)", "/upscale", scale=4),
    Kind("upscale realesr-animevideov3", "/upscale", {"model": "realesr-animevideov3"}, scale=4),
    Kind("translate (default model)", "/translate"),
    Kind("generate seed=N (default model)", "/generate", scale=None, takes_image=False),
    Kind("inpaint (default model)", "/inpaint"),
)


@dataclass
class Request:
    index: int
    kind: Kind
    photo: str
    image: Path
    mask: Path | None = None


@dataclass
class Outcome:
    index: int
    task: str
    photo: str
    seconds: float | None = None  # submit to result
    finished_at: float | None = None  # time.perf_counter() at the result (seconds after the release in the JSON)
    output_size: tuple[int, int] | None = None
    problems: list[str] = field(default_factory=list)  # failed checks or the request's error

    @property
    def ok(self) -> bool:
        return not self.problems


# -- inputs ------------------------------------------------------------------------------------


def photo(name: str, size: int) -> Image.Image:
    """A centre square crop of scikit-image's ``name``, resized to ``size`` x ``size`` (Lanczos)."""
    from skimage import data

    arr = getattr(data, name)()
    h, w = arr.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = Image.fromarray(arr[top : top + side, left : left + side]).convert("RGB")
    return crop.resize((size, size), Image.LANCZOS)


def hole_mask(size: int) -> Image.Image:
    """An L-mode mask of ``size`` x ``size``: a white (255 = fill) square of side size/4 in the middle."""
    side = max(size // 4, 2)
    start = (size - side) // 2
    mask = np.zeros((size, size), dtype=np.uint8)
    mask[start : start + side, start : start + side] = 255
    return Image.fromarray(mask, "L")


def write_inputs(folder: Path, size: int) -> tuple[dict[str, Path], Path]:
    """The photos and the mask as PNG files in ``folder``: ({photo: path}, mask path)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in PHOTOS:
        paths[name] = folder / f"{name}-{size}.png"
        photo(name, size).save(paths[name])
    mask = folder / f"hole-{size}.png"
    hole_mask(size).save(mask)
    return paths, mask


def plan(count: int, photos: dict[str, Path], mask: Path) -> list[Request]:
    """``count`` requests, the kinds round-robin, the photos round-robin within each kind."""
    requests = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        name = PHOTOS[(i // len(KINDS)) % len(PHOTOS)]
        requests.append(Request(i, kind, name if kind.takes_image else "-", photos[name],
                                mask if kind.api_name == "/inpaint" else None))
    return requests


# -- the server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def server_python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def start_server(port: int, scratch: Path, log: Path) -> subprocess.Popen:
    """``app.py`` in its own process group, its output appended to ``log``."""
    env = {
        **os.environ,
        "GRADIO_SERVER_NAME": HOST,
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "ZOO_CACHE": str(scratch / "zoo-cache"),
        "GRADIO_TEMP_DIR": str(scratch / "gradio"),
        "PYTHONUNBUFFERED": "1",
    }
    with log.open("wb") as out:
        return subprocess.Popen([server_python(), "app.py"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def wait_until_up(proc: subprocess.Popen, url: str, log: Path, timeout: float = STARTUP_TIMEOUT_S) -> float:
    """Seconds until ``GET url/config`` answers 200; RuntimeError if the server exits or times out."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode} before answering; log:\n{log_tail(log)}")
        try:
            with urllib.request.urlopen(url + "config", timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - start
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"the server did not answer GET /config within {timeout:.0f} s; log:\n{log_tail(log)}")


def stop_server(proc: subprocess.Popen) -> None:
    """SIGTERM to the server's process group, SIGKILL when it has not exited within STOP_TIMEOUT_S."""
    if proc.poll() is None:
        signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
    signal_group(proc, signal.SIGKILL)  # also any child left behind in the group
    proc.wait()


def signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        if proc.poll() is None:
            proc.send_signal(sig)


def log_tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def log_tracebacks(log: Path) -> list[str]:
    """Each traceback in the server log: its first line and its last (the exception) line."""
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError:
        return []
    found = []
    for i, line in enumerate(text):
        if line.startswith("Traceback"):
            end = i + 1
            while end < len(text) and (text[end].startswith((" ", "\t")) or not text[end].strip()):
                end += 1
            found.append(text[end] if end < len(text) else line)
    return found


# -- the server's memory and CPU ---------------------------------------------------------------


def status_kb(pid: int, key: str) -> int | None:
    """A ``kB`` field of /proc/PID/status (VmRSS, VmHWM), None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{key}:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) if match else None


def stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name (field 3 onwards), None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def process_tree(pid: int) -> list[int]:
    """``pid`` and its live descendants (parents from /proc/*/stat)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = stat_fields(int(entry.name))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def tree_rss_kb(pid: int) -> int:
    return sum(status_kb(p, "VmRSS") or 0 for p in process_tree(pid))


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid``, its threads and its waited-for children."""
    fields = stat_fields(pid)
    if not fields:
        return None
    ticks = sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def busy_seconds() -> float | None:
    """CPU seconds the whole machine has been busy (all cores, from /proc/stat)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
    except (OSError, ValueError, IndexError):
        return None
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # less idle and iowait


def own_seconds() -> float:
    times = os.times()
    return times.user + times.system


def other_cores(start: tuple[float | None, float, float | None], end: tuple[float | None, float, float | None],
                wall: float) -> float | None:
    """Cores used on average by processes other than this one and the server, from (machine busy,
    own, server) CPU seconds at the start and the end."""
    if None in (start[0], end[0], start[2], end[2]):
        return None
    spent = [e - s for s, e in zip(start, end)]  # type: ignore[operator]
    return max(0.0, (spent[0] - spent[1] - spent[2]) / max(wall, 1e-9))


class RssMonitor(threading.Thread):
    """Polls the summed VmRSS of a process tree every ``interval`` s; ``peak_kb`` is the largest sample."""

    def __init__(self, pid: int, interval: float = POLL_S) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_kb = 0
        self.samples = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak_kb = max(self.peak_kb, tree_rss_kb(self.pid))
            self.samples += 1
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


# -- requests ----------------------------------------------------------------------------------


def result_path(result: Any) -> Path:
    """The local file of a gradio_client result: a path, or a dict (or FileData) with a ``path``."""
    if isinstance(result, (list, tuple)) and len(result) == 1:
        result = result[0]
    if isinstance(result, dict):
        result = result.get("path")
    elif hasattr(result, "path"):
        result = result.path
    if not isinstance(result, (str, os.PathLike)):
        raise TypeError(f"unexpected result {result!r:.200}")
    return Path(result)


def call(client: Any, request: Request) -> Any:
    """Send ``request`` with ``client``, by keyword; every parameter not named keeps the app's default."""
    from gradio_client import handle_file

    kind = request.kind
    if kind.api_name == "/generate":
        return client.predict(seed=request.index, **kind.kwargs, api_name=kind.api_name)
    if kind.api_name == "/inpaint":
        return client.predict(image=handle_file(str(request.image)), mask=handle_file(str(request.mask)), **kind.kwargs,
                              api_name=kind.api_name)
    return client.predict(image=handle_file(str(request.image)), **kind.kwargs, api_name=kind.api_name)


def expected_size(request: Request, size: int, generate_resolution: int | None) -> tuple[int, int] | None:
    """(width, height) the result must have; None when only squareness can be checked (generate)."""
    if request.kind.scale is None:
        return (generate_resolution, generate_resolution) if generate_resolution else None
    return size * request.kind.scale, size * request.kind.scale


def check(request: Request, path: Path, size: int, generate_resolution: int | None) -> tuple[tuple[int, int] | None, list[str]]:
    """(the result's size, the checks it fails)."""
    try:
        with Image.open(path) as im:
            im.load()
            out = im.copy()
    except Exception as exc:  # noqa: BLE001  (any unreadable file is a failed check)
        return None, [f"result {path} does not open with Pillow: {exc}"]
    problems = []
    wanted = expected_size(request, size, generate_resolution)
    if wanted is not None and out.size != wanted:
        problems.append(f"size {out.size[0]}x{out.size[1]}, expected {wanted[0]}x{wanted[1]}")
    if wanted is None and out.width != out.height:
        problems.append(f"size {out.size[0]}x{out.size[1]} is not square")
    pixels = np.asarray(out.convert("RGB") if out.mode not in ("L", "RGB") else out, dtype=np.float64)
    if pixels.std() <= MIN_STD:
        problems.append(f"blank result (pixel std {pixels.std():.2f} <= {MIN_STD})")
    if request.mask is not None and out.size == (size, size):
        with Image.open(request.mask) as hole, Image.open(request.image) as source:
            keep = np.asarray(hole.convert("L")) == 0
            before = np.asarray(source.convert("RGB"))
        after = np.asarray(out.convert("RGB"))
        changed = int((before[keep] != after[keep]).any(axis=-1).sum())
        if changed:
            problems.append(f"{changed} pixels outside the hole differ from the input")
    return out.size, problems


def worker(url: str, request: Request, downloads: Path, start: threading.Barrier, results: queue.Queue,
           check_result: Callable[[Request, Path], tuple[tuple[int, int] | None, list[str]]]) -> None:
    """Connect a client, wait for the others, send ``request``, time it, check it, report an Outcome."""
    from gradio_client import Client

    outcome = Outcome(request.index, request.kind.label, request.photo)
    client = None
    try:
        client = Client(url, verbose=False, download_files=str(downloads), analytics_enabled=False)
    except Exception as exc:  # noqa: BLE001  (reported as the request's failure)
        outcome.problems.append(f"client could not connect: {type(exc).__name__}: {exc}")
    try:
        start.wait(timeout=CONNECT_TIMEOUT_S)
    except threading.BrokenBarrierError:
        outcome.problems.append("not every client connected in time")
    if client is None or outcome.problems:
        if client is not None:
            client.close()
        results.put(outcome)
        return
    try:
        t0 = time.perf_counter()
        result = call(client, request)
        outcome.finished_at = time.perf_counter()
        outcome.seconds = outcome.finished_at - t0
        outcome.output_size, problems = check_result(request, result_path(result))
        outcome.problems.extend(problems)
    except Exception as exc:  # noqa: BLE001  (an error of the app, as gradio_client raises it)
        outcome.problems.append(f"{type(exc).__name__}: {' '.join(str(exc).split())[:500]}")
    finally:
        client.close()
        results.put(outcome)


def generate_resolution(url: str) -> int | None:
    """The square resolution of /generate's default model (the API's parameter default, then the
    registry); None when it cannot be looked up (the results are then only checked to be square)."""
    from gradio_client import Client

    import zoo

    client = Client(url, verbose=False, analytics_enabled=False)
    try:
        params = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/generate"]["parameters"]
        name = next(p.get("parameter_default") for p in params if p.get("parameter_name") == "model")
        return zoo.info(name).options.resolution or None
    except Exception:  # noqa: BLE001  (no endpoint, no default or an unknown model: the requests will tell)
        return None
    finally:
        client.close()


# -- figures -----------------------------------------------------------------------------------


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50_s": None, "p95_s": None, "max_s": None}
    arr = np.asarray(values)
    return {"p50_s": float(np.percentile(arr, 50)), "p95_s": float(np.percentile(arr, 95)), "max_s": float(arr.max())}


def latency_rows(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """Per task (in KINDS order) and overall: requests, successes, p50 / p95 / max latency of the successes."""
    rows = []
    for label in [k.label for k in KINDS] + ["all"]:
        group = [o for o in outcomes if label in ("all", o.task)]
        if group:
            ok = [o.seconds for o in group if o.ok and o.seconds is not None]
            rows.append({"task": label, "requests": len(group), "ok": len(ok), **percentiles(ok)})
    return rows


def fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def mb(kb: int | None) -> float | None:
    return None if kb is None else round(kb / 1024, 1)


def fmt_mb(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def table(res: dict[str, Any]) -> str:
    """The Markdown block to paste into RESULTS.md: method lines, the latency table, the totals."""
    mem = res["server_memory_mb"]
    lines = [
        f"* Date: {res['date']}; gradio {res['gradio']}, gradio_client {res['gradio_client']}, "
        f"{res['cpus']} logical CPUs ({res['cpu']})",
        f"* Command: `{res['command']}`",
        f"* {res['requests']} requests released at once (one client each), {res['size']}x{res['size']} inputs; "
        f"server up in {res['startup_s']:.1f} s",
        "",
        "| task | requests | ok | p50 (s) | p95 (s) | max (s) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in res["latency"]:
        name = "**all**" if row["task"] == "all" else row["task"]
        lines.append(f"| {name} | {row['requests']} | {row['ok']} | {fmt_s(row['p50_s'])} | {fmt_s(row['p95_s'])} | {fmt_s(row['max_s'])} |")
    cores, others = res["server_cpu_cores"], res["other_cpu_cores"]
    lines += [
        "",
        f"Wall time {res['wall_s']:.1f} s, throughput {res['throughput_rps']:.3f} requests/s; "
        f"{res['failures']} failed request(s).",
        f"Server RSS (with children, every {POLL_S:g} s): {fmt_mb(mem['before'])} MB before the requests, "
        f"peak {fmt_mb(mem['peak'])} MB, {fmt_mb(mem['after'])} MB after; VmHWM {fmt_mb(mem['vmhwm'])} MB. "
        f"Server CPU during the run: {'-' if cores is None else f'{cores:.2f}'} cores on average "
        f"(other processes: {'-' if others is None else f'{others:.2f}'} cores); "
        f"{res['server_tracebacks']} traceback(s) in the server log.",
    ]
    if others is not None and others > LOAD_WARN:
        lines.append(f"WARNING: other processes used {others:.2f} cores during the run; these figures are not representative.")
    return "\n".join(lines)


def versions() -> tuple[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name in ("gradio", "gradio_client"):
        try:
            found.append(version(name))
        except PackageNotFoundError:
            found.append("?")
    return found[0], found[1]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def python_name() -> str:
    exe = Path(sys.executable)
    try:
        return str(exe.relative_to(ROOT))
    except ValueError:
        return "python"


# -- the run -----------------------------------------------------------------------------------


def collect(results: queue.Queue, count: int, deadline: float, keep_going: bool) -> tuple[list[Outcome], str | None]:
    """The outcomes as they arrive: all of them, or up to the first failure (without ``keep_going``)
    or the deadline; with the reason the collection stopped early, if it did."""
    outcomes: list[Outcome] = []
    while len(outcomes) < count:
        left = deadline - time.perf_counter()
        if left <= 0:
            return outcomes, f"timed out with {count - len(outcomes)} request(s) unanswered"
        try:
            outcome = results.get(timeout=min(left, 1.0))
        except queue.Empty:
            continue
        outcomes.append(outcome)
        if not outcome.ok and not keep_going:
            return outcomes, f"stopped at the first failure (request {outcome.index}); --keep-going runs every request"
    return outcomes, None


def load(args: argparse.Namespace, proc: subprocess.Popen, url: str, scratch: Path) -> tuple[list[Outcome], dict[str, Any], str | None]:
    """Send the requests; (outcomes, figures measured during the load, why it stopped early)."""
    photos, mask = write_inputs(scratch / "inputs", args.size)
    requests = plan(args.requests, photos, mask)
    resolution = generate_resolution(url)

    def check_result(request: Request, path: Path) -> tuple[tuple[int, int] | None, list[str]]:
        return check(request, path, args.size, resolution)

    if args.warm:  # one untimed request of each kind first: models loaded, packaged weights converted
        from gradio_client import Client

        client = Client(url, verbose=False, download_files=str(scratch / "warm-up"))
        for request in plan(len(KINDS), photos, mask):
            _, problems = check_result(request, result_path(call(client, request)))
            if problems:
                raise SystemExit(f"warm-up {request.kind.api_name} failed its checks: {'; '.join(problems)}")

    released: list[float] = []
    start = threading.Barrier(len(requests) + 1, action=lambda: released.append(time.perf_counter()))
    results: queue.Queue = queue.Queue()
    for request in requests:
        downloads = scratch / "results" / str(request.index)
        threading.Thread(target=worker, args=(url, request, downloads, start, results, check_result), daemon=True).start()

    monitor = RssMonitor(proc.pid)
    rss_before = tree_rss_kb(proc.pid)
    monitor.start()
    try:
        start.wait(timeout=CONNECT_TIMEOUT_S)
    except threading.BrokenBarrierError:
        pass
    cpu_start = busy_seconds(), own_seconds(), cpu_seconds(proc.pid)
    t_start = released[0] if released else time.perf_counter()
    outcomes, stopped = collect(results, len(requests), t_start + args.timeout, args.keep_going)
    finished = [o.finished_at for o in outcomes if o.finished_at is not None]
    wall = (max(finished) if finished else time.perf_counter()) - t_start
    cpu_end = busy_seconds(), own_seconds(), cpu_seconds(proc.pid)
    monitor.stop()
    figures = {
        "released_at": t_start,
        "wall_s": wall,
        "generate_resolution": resolution,
        "server_cpu_cores": None if cpu_start[2] is None or cpu_end[2] is None else (cpu_end[2] - cpu_start[2]) / max(wall, 1e-9),
        "other_cpu_cores": other_cores(cpu_start, cpu_end, wall),
        "rss_kb": {"before": rss_before, "peak": max(monitor.peak_kb, rss_before), "after": tree_rss_kb(proc.pid),
                   "vmhwm": sum(status_kb(p, "VmHWM") or 0 for p in process_tree(proc.pid)), "samples": monitor.samples},
    }
    return outcomes, figures, stopped


def summarise(args: argparse.Namespace, outcomes: list[Outcome], figures: dict[str, Any], startup: float, log: Path) -> dict[str, Any]:
    gradio, gradio_client = versions()
    done = [o for o in outcomes if o.ok]
    rss = figures["rss_kb"]
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([python_name(), "benchmarks/bench_app_load.py", *map(shlex.quote, sys.argv[1:])]),
        "gradio": gradio,
        "gradio_client": gradio_client,
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "requests": args.requests,
        "size": args.size,
        "startup_s": startup,
        "wall_s": figures["wall_s"],
        "throughput_rps": len(done) / max(figures["wall_s"], 1e-9),
        "failures": args.requests - len(done),
        "latency": latency_rows(outcomes),
        "generate_resolution": figures["generate_resolution"],
        "server_memory_mb": {key: mb(rss[key]) for key in ("before", "peak", "after", "vmhwm")},
        "server_memory_samples": rss["samples"],
        "server_cpu_cores": figures["server_cpu_cores"],
        "other_cpu_cores": figures["other_cpu_cores"],
        "server_tracebacks": len(log_tracebacks(log)),
        "outcomes": [{**asdict(o), "ok": o.ok, "finished_at": None if o.finished_at is None else o.finished_at - figures["released_at"]}
                     for o in sorted(outcomes, key=lambda o: o.index)],
    }


def report_problems(outcomes: list[Outcome], count: int, stopped: str | None, log: Path, kept: bool) -> None:
    """Failed requests, why the run stopped early and the server log's tracebacks, on stderr."""
    for o in sorted(outcomes, key=lambda o: o.index):
        for problem in o.problems:
            print(f"FAIL request {o.index} ({o.task}, {o.photo}): {problem}", file=sys.stderr)
    if len(outcomes) < count:
        print(f"{count - len(outcomes)} request(s) without an answer", file=sys.stderr)
    if stopped:
        print(stopped, file=sys.stderr)
    tracebacks = log_tracebacks(log)
    if tracebacks:
        where = log if kept else "(pass --server-log FILE to keep the log)"
        print(f"{len(tracebacks)} traceback(s) in the server log {where}:", file=sys.stderr)
        for line in tracebacks:
            print(f"  {line}", file=sys.stderr)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=24, help="concurrent requests (default 24)")
    parser.add_argument("--size", type=int, default=64, help="input side in pixels (default 64)")
    parser.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    parser.add_argument("--keep-going", action="store_true", help="run every request even after a failure")
    parser.add_argument("--warm", action="store_true", help="send one untimed request of each kind first (a warm server)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds for all requests to answer (default 900)")
    parser.add_argument("--server-log", type=Path, default=None, help="keep the server's output here (default: a temporary file)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures and every request as JSON here")
    args = parser.parse_args()
    if args.requests < len(KINDS):
        parser.error(f"--requests must be at least {len(KINDS)} (one of each kind)")
    if not 16 <= args.size <= 1024:
        parser.error("--size must be between 16 and 1024")
    if not 0 <= args.port <= 65535 or args.timeout <= 0:
        parser.error("--port must be 0-65535 and --timeout positive")
    return args


def exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # so that the server is stopped by main's ``finally``


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    with tempfile.TemporaryDirectory(prefix="bench-app-load-") as tmp:
        scratch = Path(tmp)
        log = args.server_log or scratch / "server.log"
        port = args.port or free_port()
        url = f"http://{HOST}:{port}/"
        proc = start_server(port, scratch, log)
        try:
            startup = wait_until_up(proc, url, log)
            outcomes, figures, stopped = load(args, proc, url, scratch)
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        finally:
            stop_server(proc)
        res = summarise(args, outcomes, figures, startup, log)
        print(table(res))
        report_problems(outcomes, args.requests, stopped, log, kept=args.server_log is not None)
        if args.json:
            args.json.write_text(json.dumps(res, indent=2) + "\n")
    return 0 if res["failures"] == 0 and len(outcomes) == args.requests else 1


if __name__ == "__main__":
    raise SystemExit(main())
