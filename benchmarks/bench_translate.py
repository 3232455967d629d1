#!/usr/bin/env python
"""CPU speed of the pix2pix / CycleGAN generators, as a fraction of a 4096x4096 fp32 matmul.

    python benchmarks/bench_translate.py [--threads 2] [--repeats 5] [--warmup 1] [--json out.json]
                                         [--no-plain] [--no-write]

Measures, in one run and with ``torch.set_num_threads(--threads)``:

* the reference: ``torch.mm`` of two 4096x4096 float32 matrices (2 * 4096^3 flop per call);
* ``unet_256``: UnetGenerator (num_downs 8, ngf 64, batch norm, dropout), 1x3x256x256 in;
* ``resnet_9blocks``: ResnetGenerator (ngf 64, instance norm, 9 blocks, reflect padding), 1x3x256x256 in;

each in both test modes of ``zoo.archs.norms.set_test_mode``: ``eval`` (BatchNorm running
statistics) and ``official`` (pix2pix's test.py without --eval: BatchNorm with the batch's own
statistics); Dropout is off in both. InstanceNorm behaves the same in both, so the two ResNet rows
are the same computation measured twice. Networks have random weights (speed does not depend on
the values) and run as the translate task runs them: ``torch.inference_mode()``, NCHW contiguous
float32 input in [-1, 1]. Effective GFLOP/s are 2 * (multiply-accumulates of all convolutions and
transposed convolutions, counted from the layer shapes) / seconds; the fraction is that over the
matmul GFLOP/s of the same run. Warm-up rounds are not timed; figures are medians of
``--repeats`` rounds (minimum also shown), each round being matmul then every case, so slow drifts
and other load hit all rows alike. Unless ``--no-plain``, the plain module-by-module forward
(``zoo.archs.fast_path.FAST_PATH = False``) is measured too, as the before/after baseline.

Acceptance (issue): resnet_9blocks >= 0.6 and unet_256 >= 0.4 of the matmul figure (fast path,
both test modes). The run's section in ``benchmarks/RESULTS.md`` (between the
``bench_translate`` markers) is replaced unless ``--no-write``; the rest of the file is left
alone. Timing helpers (matmul reference, foreign-load accounting) are bench_esrgan.py's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import nn

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (ROOT, HERE):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from bench_esrgan import LOAD_WARN, bench_main, result, summary, time_cases  # noqa: E402

from zoo.archs import build, fast_path  # noqa: E402
from zoo.archs.norms import set_test_mode  # noqa: E402

BEGIN = "<!-- bench_translate:begin (written by benchmarks/bench_translate.py; edits inside are overwritten) -->"
END = "<!-- bench_translate:end -->"
INPUT = (1, 3, 256, 256)

NETS = {
    "unet_256": {
        "arch": "unet",
        "config": {"input_nc": 3, "output_nc": 3, "num_downs": 8, "ngf": 64, "norm": "batch", "use_dropout": True},
        "target": 0.4,
    },
    "resnet_9blocks": {
        "arch": "resnet",
        "config": {"input_nc": 3, "output_nc": 3, "ngf": 64, "norm": "instance", "use_dropout": False, "n_blocks": 9},
        "target": 0.6,
    },
}
TEST_MODES = ("eval", "official")


def conv_macs(arch: str, config: dict, shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of every Conv2d / ConvTranspose2d of ``build(arch, config)`` on an input of ``shape``.

    From the layer shapes seen in one plain forward (meta tensors, nothing computed): a conv does
    out.numel() * in_channels/groups * kh * kw, a transposed conv in.numel() * out_channels/groups * kh * kw.
    """
    total = 0

    def hook(m: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        kh, kw = m.kernel_size
        if isinstance(m, nn.ConvTranspose2d):
            total += inp[0].numel() * (m.out_channels // m.groups) * kh * kw
        else:
            total += out.numel() * (m.in_channels // m.groups) * kh * kw

    with torch.device("meta"):
        meta = build(arch, config).eval()
    handles = [m.register_forward_hook(hook) for m in meta.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    try:
        with torch.no_grad():
            meta(torch.empty(shape, device="meta"))
    finally:
        for h in handles:
            h.remove()
    return total


def run(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.rand(INPUT) * 2 - 1
    cases = []
    for name, spec in NETS.items():
        net = build(spec["arch"], spec["config"]).eval()
        for p in net.parameters():
            p.requires_grad_(False)
        macs = conv_macs(spec["arch"], spec["config"], INPUT)
        for mode in TEST_MODES:
            for path in ["fast"] + ([] if args.no_plain else ["plain"]):
                cases.append({"key": f"{name}|{mode}|{path}", "name": name, "mode": mode, "path": path, "net": net, "macs": macs, "spec": spec})

    def call(case: dict) -> None:
        set_test_mode(case["net"], case["mode"])
        fast_path.FAST_PATH = case["path"] == "fast"
        try:
            with torch.inference_mode():
                case["net"](x)
        finally:
            fast_path.FAST_PATH = True

    times, mm, load_cores = time_cases(args, cases, call)
    ref = mm["gflops_median"]
    results = []
    for case in cases:
        target = case["spec"]["target"]
        row = {
            "network": case["name"],
            "arch": case["spec"]["arch"],
            "config": case["spec"]["config"],
            "test_mode": case["mode"],
            "path": case["path"],
            "input": list(INPUT),
            "gmac": case["macs"] / 1e9,
            **summary(times[case["key"]], 2 * case["macs"], ref),
            "target": target,
        }
        row["pass"] = row["fraction_median"] >= target
        results.append(row)
    return result(args, load_cores, mm, results)


# -- reporting ---------------------------------------------------------------------------------

PATHS = {"fast": "channels_last oneDNN (default)", "plain": "plain NCHW (FAST_PATH=False)"}


def fmt_pass(row: dict) -> str:
    return ("PASS" if row["pass"] else "FAIL") + f" (>= {row['target']:.2f})"


def acceptance(res: dict) -> dict[str, bool]:
    """Per network: every fast-path row at or above its target."""
    verdict: dict[str, bool] = {}
    for row in res["networks"]:
        if row["path"] == "fast":
            verdict[row["network"]] = verdict.get(row["network"], True) and row["pass"]
    return verdict


def table(res: dict) -> str:
    mm = res["matmul"]
    lines = [
        "| network | test mode | path | GMAC | seconds (median / min) | GFLOP/s (median) | fraction of matmul (median / best) | target |",
        "|---|---|---|---:|---:|---:|---:|---|",
        f"| matmul {mm['n']}x{mm['n']} fp32 | - | torch.mm | - | {mm['seconds_median']:.3f} / {mm['seconds_min']:.3f} "
        f"| {mm['gflops_median']:.1f} | 1.000 | reference |",
    ]
    for row in res["networks"]:
        target = fmt_pass(row) if row["path"] == "fast" else "(baseline)"
        lines.append(
            f"| {row['network']} | {row['test_mode']} | {PATHS[row['path']]} | {row['gmac']:.2f} "
            f"| {row['seconds_median']:.3f} / {row['seconds_min']:.3f} | {row['gflops_median']:.1f} "
            f"| {row['fraction_median']:.3f} / {row['fraction_best']:.3f} | {target} |"
        )
    return "\n".join(lines)


def section(res: dict) -> str:
    load = res["foreign_load_cores"]
    load_txt = "unknown" if load is None else f"{load:.2f} cores on average"
    verdict = acceptance(res)
    worst = {
        name: min(r["fraction_median"] for r in res["networks"] if r["network"] == name and r["path"] == "fast") for name in verdict
    }
    return "\n".join(
        [
            BEGIN,
            "## Translate generators: CPU speed (pix2pix unet_256, CycleGAN resnet_9blocks)",
            "",
            f"* Date: {res['date']}",
            f"* torch {res['torch']}, CPU: {res['cpu']} ({res['cpu_count']} logical CPUs; flags: {res['cpu_flags']}; "
            f"ATen capability {res['cpu_capability']}), {res['threads']} threads, fp32",
            f"* Command: `{res['command']}`",
            f"* Method: random weights, official configs (ngf 64), input 1x3x256x256 in [-1, 1]; `set_test_mode(net, mode)` + "
            f"`torch.inference_mode()`; {res['warmup']} warm-up round(s) not timed, then {res['repeats']} rounds of (matmul, "
            "every row); medians. GFLOP/s = 2 x conv and transposed-conv MACs (from the layer shapes) / seconds; fraction = "
            "that / matmul GFLOP/s of the same run. The two resnet_9blocks modes are the same computation (InstanceNorm).",
            f"* Other processes used {load_txt} during the run"
            + (" - **busy machine, figures unreliable**." if load is not None and load > LOAD_WARN else " (all figures drop when this is high)."),
            "",
            table(res),
            "",
            "Acceptance: resnet_9blocks >= 0.6, unet_256 >= 0.4 of the matmul figure (fast path, worst test mode): "
            + ", ".join(f"{name} {'PASS' if ok else 'FAIL'} ({worst[name]:.3f})" for name, ok in verdict.items()),
            END,
        ]
    )


def main() -> int:
    def verdicts(res: dict) -> list[str]:
        return [f"{name}: {'PASS' if ok else 'FAIL'} (target >= {NETS[name]['target']})" for name, ok in acceptance(res).items()]

    return bench_main(__doc__, run, table, verdicts, section, BEGIN, END)


if __name__ == "__main__":
    raise SystemExit(main())
