#!/usr/bin/env python
"""End-to-end upscaling side by side: the official Real-ESRGAN pipeline, spandrel and gan-zoo.

    python benchmarks/bench_e2e_upscale.py --official-root SCRATCH [--sizes 256 512] [--reps 3] [--threads 2]

Every run is a fresh child process (its own peak RSS, ``VmHWM``) doing what a user of that tool
does, from a decoded RGB image to a uint8 RGB result, on identical weights (gan-zoo's converted
``realesrgan-x4plus``, whose key names are BasicSR's) and identical inputs (scikit-image's
astronaut resized to SIZE x SIZE):

* ``official``: ``RealESRGANer.enhance`` from the official repository's ``realesrgan/utils.py``
  with BasicSR's ``RRDBNet``, its defaults for the command line ``tile 0, pre_pad 0`` (one pass),
  fp32 on the CPU; ``official-tile400``: the same with ``tile=400`` (its ``tile_pad`` 10);
* ``spandrel``: ``spandrel.ModelLoader().load_from_state_dict`` and one forward pass, clamped and
  rounded as its README shows;
* ``gan-zoo``: ``zoo.load("realesrgan-x4plus")(image)`` with its defaults (tiles planned from the
  memory budget: one pass when the image fits);
* ``official-forward`` / ``gan-zoo-forward``: only the network's forward pass on the same float
  tensor (BasicSR's ``RRDBNet`` under ``no_grad``; gan-zoo's network, whose CPU fast path runs under
  ``no_grad``), to tell the pipeline's cost from the network's.

Runs are interleaved (rep 1 of every tool, then rep 2, ...); the table gives median seconds (of
the upscale call, model load excluded), median peak RSS, and the largest difference of each
output from the official one-pass output, in 8-bit levels.

The official code is not part of gan-zoo: put it in a scratch folder (never committed):

    git -C MIRROR/xinntao+Real-ESRGAN/repo archive HEAD realesrgan | tar -x -C SCRATCH/Real-ESRGAN
    git -C MIRROR/XPixelGroup+BasicSR/repo archive HEAD basicsr/archs | tar -x -C SCRATCH/BasicSR

Only ``realesrgan/utils.py``, ``basicsr/archs/rrdbnet_arch.py`` and ``basicsr/archs/arch_util.py``
are imported; BasicSR's registry, logger, download helper and compiled deformable-conv ops (unused
by RRDBNet) are replaced by inert stand-ins. spandrel comes from PyPI (``pip install spandrel``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import importlib.util, json, sys, time, types
from pathlib import Path
import numpy as np
import torch
from PIL import Image
from skimage import data

tool, size, threads, root, out_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]), sys.argv[5]
torch.set_num_threads(threads)
image = np.asarray(Image.fromarray(data.astronaut()).resize((size, size), Image.BICUBIC))  # RGB uint8
import zoo
state = {k: v.clone() for k, v in zoo.load("realesrgan-x4plus").net.state_dict().items()}


def official_network():
    # inert stand-ins for the parts of BasicSR that RRDBNet does not use
    class Registry:
        def register(self, *a, **k):
            return (lambda f: f) if not a or not callable(a[0]) else a[0]
    stubs = {"basicsr": {}, "basicsr.utils": {"get_root_logger": lambda *a, **k: None},
             "basicsr.utils.registry": {"ARCH_REGISTRY": Registry()},
             "basicsr.utils.download_util": {"load_file_from_url": None},
             "basicsr.ops": {}, "basicsr.ops.dcn": {"ModulatedDeformConvPack": object, "modulated_deform_conv": None},
             "basicsr.archs": {}}
    for name, attrs in stubs.items():
        module = types.ModuleType(name)
        module.__dict__.update(attrs)
        module.__path__ = []
        sys.modules[name] = module
    for name in ("arch_util", "rrdbnet_arch"):
        spec = importlib.util.spec_from_file_location(f"basicsr.archs.{name}", root / "BasicSR/basicsr/archs" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    net = sys.modules["basicsr.archs.rrdbnet_arch"].RRDBNet(num_in_ch=3, num_out_ch=3, num_feat=64, num_block=23, num_grow_ch=32, scale=4)
    spec = importlib.util.spec_from_file_location("realesrgan_utils", root / "Real-ESRGAN/realesrgan/utils.py")
    utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(utils)
    return net, utils.RealESRGANer


if tool.startswith("official"):
    net, RealESRGANer = official_network()
    tile = 400 if tool == "official-tile400" else 0
    weights = out_path + ".pth"  # RealESRGANer loads its weights itself, from the release's layout
    torch.save({"params_ema": state}, weights)
    upsampler = RealESRGANer(scale=4, model_path=weights, model=net, tile=tile, tile_pad=10, pre_pad=0, half=False,
                             device=torch.device("cpu"))
    bgr = image[:, :, ::-1].copy()
    start = time.perf_counter()
    out_bgr, _ = upsampler.enhance(bgr, outscale=4)
    seconds = time.perf_counter() - start
    out = out_bgr[:, :, ::-1]
elif tool.endswith("-forward"):
    if tool == "official-forward":
        net, _ = official_network()
        net.load_state_dict(state)
        net.eval()
    else:
        net = zoo.load("realesrgan-x4plus").net
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    start = time.perf_counter()
    with torch.no_grad():
        y = net(x)
    seconds = time.perf_counter() - start
    out = (y.clamp(0, 1)[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
elif tool == "spandrel":
    from spandrel import ModelLoader
    model = ModelLoader().load_from_state_dict(state).eval()
    start = time.perf_counter()
    with torch.inference_mode():
        x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
        y = model(x)
        out = (y.clamp(0, 1)[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
    seconds = time.perf_counter() - start
else:
    up = zoo.load("realesrgan-x4plus")
    start = time.perf_counter()
    out = np.asarray(up(Image.fromarray(image)))
    seconds = time.perf_counter() - start
np.save(out_path, np.ascontiguousarray(out))
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "peak_rss_mb": peak / 1024}))
"""

TOOLS = ("official", "official-tile400", "spandrel", "gan-zoo", "official-forward", "gan-zoo-forward")
DEFAULT_TOOLS = ("official", "official-tile400", "spandrel", "gan-zoo")


def run(tool: str, size: int, threads: int, root: Path, out: Path) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"), "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run([sys.executable, "-c", CHILD, tool, str(size), str(threads), str(root), str(out)],
                          capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{tool} at {size} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official-root", type=Path, required=True, help="scratch folder with Real-ESRGAN/ and BasicSR/")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tools", nargs="+", default=list(DEFAULT_TOOLS), choices=TOOLS)
    args = parser.parse_args()
    import numpy as np

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            times: dict[str, list[float]] = {t: [] for t in args.tools}
            peaks: dict[str, list[float]] = {t: [] for t in args.tools}
            for rep in range(args.reps):
                for tool in args.tools:
                    record = run(tool, size, args.threads, args.official_root, Path(tmp) / f"{tool}-{size}.npy")
                    times[tool].append(record["seconds"])
                    peaks[tool].append(record["peak_rss_mb"])
                    print(f"size {size} rep {rep + 1} {tool}: {record['seconds']:.2f} s, {record['peak_rss_mb']:.0f} MB", file=sys.stderr)
            reference = np.load(Path(tmp) / f"official-{size}.npy").astype(np.int16) if "official" in args.tools else None
            base = statistics.median(times["official"]) if "official" in args.tools else None
            for tool in args.tools:
                out = np.load(Path(tmp) / f"{tool}-{size}.npy").astype(np.int16)
                diff = int(np.abs(out - reference).max()) if reference is not None else None
                seconds = statistics.median(times[tool])
                rows.append({"size": size, "tool": tool, "seconds": seconds, "runs": times[tool],
                             "peak_rss_mb": statistics.median(peaks[tool]), "max_diff_levels": diff,
                             "speed_vs_official": base / seconds if base else None})
    print("| input | tool | median s | runs (s) | peak RSS (MB) | max diff vs official one pass | speed vs official |")
    print("|---|---|---:|---|---:|---:|---:|")
    for r in rows:
        runs = ", ".join(f"{s:.1f}" for s in r["runs"])
        ratio = f"{r['speed_vs_official']:.2f}x" if r["speed_vs_official"] else ""
        print(f"| {r['size']}x{r['size']} | {r['tool']} | {r['seconds']:.2f} | {runs} | {r['peak_rss_mb']:.0f} | "
              f"{r['max_diff_levels']} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
