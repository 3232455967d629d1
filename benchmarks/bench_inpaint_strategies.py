#!/usr/bin/env python
"""Inpainting large photos three ways: gan-zoo's context windows, the whole image at native size,
and IOPaint's default crop strategy; seconds and peak memory per photo.

    python benchmarks/bench_inpaint_strategies.py [--scale 2.5] [--threads 2] [--json out.json]
        [--model deepfill-nature --save DIR]

Photos: scikit-image's ``astronaut``, ``coffee`` and ``chelsea``, enlarged ``--scale`` times
(Lanczos) to large-photo sizes, each with four separate holes at fixed relative places. The
network is DeepFill v2 at the release width (cnum 48, tf layout) with seeded random weights (the
released weights cannot be had here: cost only), or with ``--model`` a trained one (e.g. the
bundled ``deepfill-nature``): then each result is also scored inside the holes against the photo
itself (PSNR, mean absolute error in levels), and ``--save DIR`` writes the results side by side.

* ``windows``: ``Inpainter(strategy="windows")`` (a 128 px margin around each hole, each window
  scaled to 256 px);
* ``native``: ``strategy="native"``, the whole image at once;
* ``iopaint-crop``: IOPaint's default for large images, emulated with gan-zoo's network: when the
  longer side is over 800 px, one crop, the bounding box of the whole mask grown by 128 px and
  clipped to the image, run at native resolution; else the whole image.

Each run is in a fresh process, so its peak RSS (``VmHWM``) is its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ("astronaut", "coffee", "chelsea")
STRATEGIES = ("windows", "native", "iopaint-crop")
HOLES = ((0.10, 0.15, 0.08), (0.45, 0.55, 0.12), (0.75, 0.20, 0.06), (0.80, 0.80, 0.10))  # (row, col, side) fractions

CHILD = r"""
import json, re, sys, time
import numpy as np, torch
from PIL import Image
sys.path.insert(0, {root!r})
torch.set_num_threads({threads})
from zoo.archs.deepfill import DeepFillV2
from zoo.converted import write_converted
from zoo.formats.base import Converted
import zoo
torch.manual_seed(0)
if {model!r}:
    task = zoo.load({model!r})
else:
    net = DeepFillV2(cnum=48, layout="tf")
    folder = write_converted({folder!r}, Converted("deepfill", "deepfillv2", {{"cnum": 48, "cnum_in": 5, "layout": "tf"}},
                             net.state_dict(), "bench"), name="bench", task="inpaint", provenance={{}}, card=None)
    task = zoo.load(folder)
image = Image.open({photo!r})
hole = np.load({hole!r})
start = time.perf_counter()
if {strategy!r} == "iopaint-crop" and max(image.size) > 800:
    rows, cols = np.nonzero(hole)
    top, left = max(rows.min() - 128, 0), max(cols.min() - 128, 0)
    bottom, right = min(rows.max() + 129, hole.shape[0]), min(cols.max() + 129, hole.shape[1])
    crop = task(image.crop((left, top, right, bottom)), hole[top:bottom, left:right], strategy="native")
    out = image.copy(); out.paste(crop, (left, top))
else:
    out = task(image, hole, strategy="native" if {strategy!r} == "iopaint-crop" else {strategy!r})
seconds = time.perf_counter() - start
peak = int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1)) // 1024
a, b = np.asarray(out.convert("RGB"), dtype=np.float64)[hole], np.asarray(image.convert("RGB"), dtype=np.float64)[hole]
mse = float(((a - b) ** 2).mean())
if {save!r}:
    out.save({save!r})
print(json.dumps({{"seconds": seconds, "peak_mb": peak, "hole_psnr": 10 * np.log10(255 ** 2 / max(mse, 1e-12)),
                  "hole_mae": float(np.abs(a - b).mean())}}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=2.5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=None)
    parser.add_argument("--model", default="", help="a trained inpainting model (registry name or folder) instead of random weights")
    parser.add_argument("--save", default="", help="with --model: write each result to DIR/<photo>-<strategy>.jpg")
    args = parser.parse_args()
    import numpy as np
    from PIL import Image
    from skimage import data

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in PHOTOS:
            photo = Image.fromarray(getattr(data, name)())
            photo = photo.resize((round(photo.width * args.scale), round(photo.height * args.scale)), Image.LANCZOS)
            path, hole_path = Path(tmp) / f"{name}.png", Path(tmp) / f"{name}.npy"
            photo.save(path)
            hole = np.zeros((photo.height, photo.width), dtype=bool)
            for r, c, s in HOLES:
                side = round(s * min(photo.size))
                top, left = round(r * photo.height) - side // 2, round(c * photo.width) - side // 2
                hole[max(top, 0) : top + side, max(left, 0) : left + side] = True
            np.save(hole_path, hole)
            for strategy in STRATEGIES:
                save = str(Path(args.save) / f"{name}-{strategy}.jpg") if args.save and args.model else ""
                if save:
                    Path(args.save).mkdir(parents=True, exist_ok=True)
                code = CHILD.format(root=str(ROOT), threads=args.threads, folder=str(Path(tmp) / f"net-{strategy}-{name}"),
                                    photo=str(path), hole=str(hole_path), strategy=strategy, model=args.model, save=save)
                done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1800)
                if done.returncode:
                    print(f"{name} {strategy}: failed: {done.stderr.strip().splitlines()[-1]}", file=sys.stderr)
                    continue
                row = {"photo": name, "size": f"{photo.width}x{photo.height}", "hole_fraction": float(hole.mean()),
                       "strategy": strategy, **json.loads(done.stdout.strip().splitlines()[-1])}
                rows.append(row)
                print(f"  {row}", flush=True)
    scored = bool(args.model)
    print("| photo | size | strategy | seconds | peak RSS (MB) |" + (" hole PSNR (dB) | hole MAE |" if scored else ""))
    print("|---|---|---|---:|---:|" + ("---:|---:|" if scored else ""))
    for r in rows:
        extra = f" {r['hole_psnr']:.2f} | {r['hole_mae']:.1f} |" if scored else ""
        print(f"| {r['photo']} | {r['size']} | {r['strategy']} | {r['seconds']:.1f} | {r['peak_mb']} |{extra}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
