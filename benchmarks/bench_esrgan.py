#!/usr/bin/env python
"""CPU speed of the ESRGAN-family generators, as a fraction of a 4096x4096 fp32 matmul.

    python benchmarks/bench_esrgan.py [--threads 2] [--repeats 5] [--warmup 1] [--json out.json]
                                      [--no-plain] [--no-write]

Measures, in one run and with ``torch.set_num_threads(--threads)``:

* the reference: ``torch.mm`` of two 4096x4096 float32 matrices (2 * 4096^3 flop per call);
* RRDBNet, x4plus config (num_feat 64, num_block 23, num_grow_ch 32, scale 4), 1x3x128x128 in;
* SRVGGNetCompact, general-x4v3 config (num_feat 64, num_conv 32, upscale 4, prelu), 1x3x256x256 in.

Networks have random weights (speed does not depend on the values) and run as the task layer
runs them: eval mode, ``torch.inference_mode()``, NCHW contiguous float32 input in [0, 1],
after ``prepare_for_inference()`` when the class has one. Effective GFLOP/s are
2 * (multiply-accumulates of all convolutions, counted from the layer shapes) / seconds; the
fraction is that over the matmul GFLOP/s. Warm-up calls are not timed; the figures are medians
of ``--repeats`` timed calls (minimum also shown). One round is matmul, then each network, so
slow drifts and other load hit all rows alike. Unless ``--no-plain``, the plain module-by-module
forward (``zoo.archs.fast_path.FAST_PATH = False``: NCHW, no fused oneDNN path) is measured too, as
the before/after baseline.

Acceptance (issue): RRDBNet at >= 0.8 of the matmul figure. The run's section in
``benchmarks/RESULTS.md`` (between the ``bench_esrgan`` markers) is replaced unless ``--no-write``;
the rest of that file is left alone. Other processes on the machine make every figure slower; the
CPU time they used during the run is printed and recorded.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import shlex
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from zoo.archs import fast_path  # noqa: E402
from zoo.archs.esrgan import RRDBNet, SRVGGNetCompact, upsample_factors  # noqa: E402

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
BEGIN = "<!-- bench_esrgan:begin (written by benchmarks/bench_esrgan.py; edits inside are overwritten) -->"
END = "<!-- bench_esrgan:end -->"
TARGET = 0.8  # RRDBNet effective GFLOP/s / matmul GFLOP/s
LOAD_WARN = 0.25  # cores used by other processes above which the run is flagged
MATMUL_N = 4096

NETS = {
    "RRDBNet x4plus": {
        "cls": RRDBNet,
        "config": {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 64, "num_block": 23, "num_grow_ch": 32, "scale": 4},
        "input": (1, 3, 128, 128),
        "target": TARGET,
    },
    "SRVGGNetCompact general-x4v3": {
        "cls": SRVGGNetCompact,
        "config": {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 64, "num_conv": 32, "upscale": 4, "act_type": "prelu"},
        "input": (1, 3, 256, 256),
        "target": None,
    },
}


# -- analytic multiply-accumulate counts ------------------------------------------------------


def conv_macs(cin: int, cout: int, h: int, w: int, k: int = 3) -> int:
    """MACs of a k x k, stride 1, 'same' conv producing [cout, h, w] from cin channels."""
    return cin * cout * k * k * h * w


def rrdbnet_macs(config: dict, shape: tuple[int, ...]) -> int:
    n, _, h, w = shape
    cin, cout = config.get("num_in_ch", 3), config.get("num_out_ch", 3)
    nf, nb, gc = config.get("num_feat", 64), config.get("num_block", 23), config.get("num_grow_ch", 32)
    scale = config.get("scale", 4)
    unshuffle = config.get("unshuffle", {4: 1, 2: 2, 1: 4}.get(scale, 1))
    h, w = h // unshuffle, w // unshuffle
    macs = conv_macs(cin * unshuffle * unshuffle, nf, h, w)  # conv_first
    rdb = sum(conv_macs(nf + i * gc, gc, h, w) for i in range(4)) + conv_macs(nf + 4 * gc, nf, h, w)
    macs += 3 * nb * rdb + conv_macs(nf, nf, h, w)  # body, conv_body
    for factor in upsample_factors(scale * unshuffle):
        h, w = h * factor, w * factor
        macs += conv_macs(nf, nf, h, w)  # conv_upN at the upsampled size
    macs += conv_macs(nf, nf, h, w) + conv_macs(nf, cout, h, w)  # conv_hr, conv_last
    return n * macs


def srvgg_macs(config: dict, shape: tuple[int, ...]) -> int:
    n, _, h, w = shape
    cin, cout = config.get("num_in_ch", 3), config.get("num_out_ch", 3)
    nf, nc, up = config.get("num_feat", 64), config.get("num_conv", 16), config.get("upscale", 4)
    macs = conv_macs(cin, nf, h, w) + nc * conv_macs(nf, nf, h, w) + conv_macs(nf, cout * up * up, h, w)
    return n * macs


def count_macs(cls: type, config: dict, shape: tuple[int, ...]) -> int:
    return rrdbnet_macs(config, shape) if cls is RRDBNet else srvgg_macs(config, shape)


# -- environment -------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_flags() -> str:
    caps = []
    try:
        text = Path("/proc/cpuinfo").read_text()
        flags = set(re.search(r"^flags\s*:\s*(.*)$", text, re.M).group(1).split())
        caps = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile") if f in flags]
    except (OSError, AttributeError):
        pass
    return ", ".join(caps)


def busy_jiffies() -> tuple[int, int] | None:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields[:8]) - idle, sum(fields[:8])


class ForeignLoad:
    """CPU used by other processes while the benchmark ran (in cores, averaged over the run)."""

    def __enter__(self) -> ForeignLoad:
        self.start = busy_jiffies()
        self.own = os.times()
        self.t0 = time.monotonic()
        self.cores: float | None = None
        return self

    def __exit__(self, *exc) -> None:
        end = busy_jiffies()
        if self.start is None or end is None:
            return
        hz = os.sysconf("SC_CLK_TCK")
        own = os.times()
        own_s = (own.user - self.own.user) + (own.system - self.own.system)
        busy_s = (end[0] - self.start[0]) / hz
        self.cores = max(0.0, (busy_s - own_s) / max(time.monotonic() - self.t0, 1e-9))


def python_name() -> str:
    """The interpreter as typed from the repository root (e.g. ``.venv/bin/python``)."""
    exe = Path(sys.executable)
    try:
        return str(exe.relative_to(ROOT))
    except ValueError:
        return "python"


# -- timing ------------------------------------------------------------------------------------


def time_call(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def summary(times: list[float], flop: float, ref_gflops: float | None = None) -> dict:
    med, best = statistics.median(times), min(times)
    out = {
        "seconds_median": med,
        "seconds_min": best,
        "seconds_all": times,
        "gflops_median": flop / med / 1e9,
        "gflops_best": flop / best / 1e9,
    }
    if ref_gflops:
        out["fraction_median"] = out["gflops_median"] / ref_gflops
        out["fraction_best"] = out["gflops_best"] / ref_gflops
    return out


def side_by_side(args: argparse.Namespace, column: str, groups: list, labels: dict[str, str], cases: list[dict],
                 times: dict[str, list[float]], mm: dict, load: float | None) -> list[dict]:
    """Print a markdown table of the other code against gan-zoo, per group, and return its rows
    (and write them to ``args.json`` when given).

    ``cases`` hold ``key`` = ``f"{group}|{who}"``, ``macs`` and ``diff``; ``labels`` maps ``who``
    to the printed name, the other code first and ``"zoo"`` last; the ratio is other / gan-zoo.
    """
    other = next(iter(labels))
    print(f"| {column} | code | seconds (median / min) | fraction of matmul | {other} / gan-zoo | max abs diff |")
    print("|---|---|---:|---:|---:|---:|")
    rows = []
    for group in groups:
        found = {who: next(c for c in cases if c["key"] == f"{group}|{who}") for who in labels}
        stats = {who: summary(times[c["key"]], 2 * c["macs"], mm["gflops_median"]) for who, c in found.items()}
        ratio = stats[other]["seconds_median"] / stats["zoo"]["seconds_median"]
        for who, label in labels.items():
            s = stats[who]
            rows.append({column: group, "code": who, **s, "max_abs_diff": found[who]["diff"]})
            print(f"| {group} | {label} | {s['seconds_median']:.3f} / {s['seconds_min']:.3f} | {s['fraction_median']:.3f} "
                  f"| {ratio:.2f}x | {found[who]['diff']:.2e} |")
    print(f"matmul 4096^2: {mm['seconds_median']:.3f} s median; other processes used {load or 0:.2f} cores on average", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps({"matmul": mm, "foreign_load_cores": load, "rows": rows}, indent=2))
    return rows


def time_cases(args: argparse.Namespace, cases: list[dict], call) -> tuple[dict[str, list[float]], dict, float | None]:
    """Time ``call(case)`` for every case in interleaved rounds with a 4096^2 fp32 matmul.

    Returns (seconds per ``case["key"]``, the matmul's ``summary``, cores other processes used).
    Interleaving keeps the matmul reference and the networks under the same machine load.
    """
    a, b = torch.randn(MATMUL_N, MATMUL_N), torch.randn(MATMUL_N, MATMUL_N)
    c = torch.empty(MATMUL_N, MATMUL_N)

    def matmul() -> None:
        torch.mm(a, b, out=c)

    times: dict[str, list[float]] = {"matmul": []}
    with ForeignLoad() as load:
        for _ in range(args.warmup):
            matmul()
            for case in cases:
                call(case)
        for r in range(args.repeats):
            times["matmul"] += [time_call(matmul) for _ in range(args.matmul_calls)]
            for case in cases:
                times.setdefault(case["key"], []).append(time_call(lambda: call(case)))
            print(f"  round {r + 1}/{args.repeats} done", file=sys.stderr, flush=True)
    return times, summary(times["matmul"], 2 * MATMUL_N**3), load.cores


def result(args: argparse.Namespace, load_cores: float | None, mm: dict, networks: list[dict]) -> dict:
    """A benchmark's JSON result: machine, settings, command, the matmul reference and the rows."""
    return {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "torch": torch.__version__,
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "cpu_count": os.cpu_count(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": args.threads,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "command": " ".join(shlex.quote(a) for a in [python_name(), os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]]),
        "foreign_load_cores": load_cores,
        "matmul": {"n": MATMUL_N, **mm},
        "networks": networks,
    }


def run(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cases = []
    for name, spec in NETS.items():
        net = spec["cls"](**spec["config"]).eval()
        for p in net.parameters():
            p.requires_grad_(False)
        prepare = getattr(net, "prepare_for_inference", None)
        if prepare is not None:
            net = prepare() or net
        x = torch.rand(spec["input"])
        macs = count_macs(spec["cls"], spec["config"], spec["input"])
        modes = ["fast"] + ([] if args.no_plain else ["plain"])
        for mode in modes:
            cases.append({"key": f"{name}|{mode}", "name": name, "mode": mode, "net": net, "x": x, "macs": macs, "spec": spec})

    def call(case: dict) -> None:
        fast_path.FAST_PATH = case["mode"] == "fast"
        try:
            with torch.inference_mode():
                case["net"](case["x"])
        finally:
            fast_path.FAST_PATH = True

    times, mm, load_cores = time_cases(args, cases, call)
    ref = mm["gflops_median"]
    results = []
    for case in cases:
        row = {
            "network": case["name"],
            "path": "channels_last oneDNN (default)" if case["mode"] == "fast" else "plain NCHW (FAST_PATH=False)",
            "mode": case["mode"],
            "config": case["spec"]["config"],
            "input": list(case["spec"]["input"]),
            "gmac": case["macs"] / 1e9,
            **summary(times[case["key"]], 2 * case["macs"], ref),
        }
        target = case["spec"]["target"]
        row["target"] = target
        row["pass"] = None if target is None else row["fraction_median"] >= target
        results.append(row)
    return result(args, load_cores, mm, results)


# -- reporting ---------------------------------------------------------------------------------


def fmt_pass(row: dict) -> str:
    if row["target"] is None:
        return "no target"
    return ("PASS" if row["pass"] else "FAIL") + f" (>= {row['target']:.2f})"


def table(res: dict) -> str:
    mm = res["matmul"]
    lines = [
        "| network | path | input -> output | GMAC | seconds (median / min) | GFLOP/s (median) | fraction of matmul (median / best) | target |",
        "|---|---|---|---:|---:|---:|---:|---|",
        f"| matmul {mm['n']}x{mm['n']} fp32 | torch.mm | - | - | {mm['seconds_median']:.3f} / {mm['seconds_min']:.3f} "
        f"| {mm['gflops_median']:.1f} | 1.000 | reference |",
    ]
    for row in res["networks"]:
        n, c, h, w = row["input"]
        scale = row["config"].get("scale", row["config"].get("upscale"))
        io = f"{n}x{c}x{h}x{w} -> {n}x{row['config']['num_out_ch']}x{h * scale}x{w * scale}"
        target = fmt_pass(row) if row["mode"] == "fast" else "(baseline)"
        lines.append(
            f"| {row['network']} | {row['path']} | {io} | {row['gmac']:.1f} | {row['seconds_median']:.3f} / {row['seconds_min']:.3f} "
            f"| {row['gflops_median']:.1f} | {row['fraction_median']:.3f} / {row['fraction_best']:.3f} | {target} |"
        )
    return "\n".join(lines)


def section(res: dict) -> str:
    load = res["foreign_load_cores"]
    load_txt = "unknown" if load is None else f"{load:.2f} cores on average"
    return "\n".join(
        [
            BEGIN,
            "## ESRGAN family: CPU speed (RRDBNet x4plus, SRVGGNetCompact general-x4v3)",
            "",
            f"* Date: {res['date']}",
            f"* torch {res['torch']}, CPU: {res['cpu']} ({res['cpu_count']} logical CPUs; flags: {res['cpu_flags']}; "
            f"ATen capability {res['cpu_capability']}), {res['threads']} threads, fp32",
            f"* Command: `{res['command']}`",
            f"* Method: random weights, real configs; eval + `torch.inference_mode()`; {res['warmup']} warm-up round(s) "
            f"not timed, then {res['repeats']} rounds of (matmul, every network); medians. GFLOP/s = 2 x conv MACs "
            "(from the layer shapes) / seconds; fraction = that / matmul GFLOP/s of the same run.",
            f"* Other processes used {load_txt} during the run"
            + (" - **busy machine, figures unreliable**." if load is not None and load > LOAD_WARN else " (all figures drop when this is high)."),
            "",
            table(res),
            "",
            f"Acceptance: RRDBNet x4plus at >= {TARGET} of the matmul figure: "
            + ", ".join(f"{fmt_pass(r)} ({r['fraction_median']:.3f})" for r in res["networks"] if r["mode"] == "fast" and r["target"]),
            END,
        ]
    )


def replace_block(block: str, begin: str, end: str, path: Path = RESULTS) -> None:
    """Put ``block`` (which starts with ``begin`` and ends with ``end``) into ``path``, replacing the old one."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    pattern = re.compile(re.escape(begin.split(" (")[0]) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text if text.endswith("\n") else text + "\n")


def bench_main(doc: str, run, table, verdicts, section, begin: str, end: str) -> int:
    """The command line shared by the speed benchmarks: parse, run, print, save JSON, update RESULTS.md.

    ``run(args) -> res``, ``table(res) -> str``, ``verdicts(res) -> lines``, ``section(res)`` the
    block written between ``begin`` and ``end``.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    parser.add_argument("--matmul-calls", type=int, default=2, help="timed matmuls per round (default 2)")
    parser.add_argument("--json", default=None, help="also write the results as JSON here")
    parser.add_argument("--no-plain", action="store_true", help="skip the plain-forward baseline rows")
    parser.add_argument("--no-write", action="store_true", help=f"do not update {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    if args.repeats < 1 or args.threads < 1 or args.warmup < 0 or args.matmul_calls < 1:
        parser.error("--repeats, --threads and --matmul-calls must be >= 1, --warmup >= 0")

    res = run(args)
    print(table(res))
    load = res["foreign_load_cores"]
    if load is not None:
        print(f"\nother processes used {load:.2f} cores on average during the run")
        if load > LOAD_WARN:
            print("WARNING: the machine was busy; these figures are not representative")
    for line in verdicts(res):
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2) + "\n")
    if not args.no_write:
        replace_block(section(res), begin, end)
        print(f"updated {RESULTS}")
    return 0


def main() -> int:
    def verdicts(res: dict) -> list[str]:
        return [
            f"{row['network']}: {row['fraction_median']:.3f} of matmul -> {fmt_pass(row)}"
            for row in res["networks"]
            if row["mode"] == "fast" and row["target"] is not None
        ]

    return bench_main(__doc__, run, table, verdicts, section, BEGIN, END)


if __name__ == "__main__":
    raise SystemExit(main())
