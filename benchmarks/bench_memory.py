#!/usr/bin/env python
"""Peak memory (RSS) of upscaling a large image with the default tile size.

    python benchmarks/bench_memory.py [--model realesrgan-x4plus] [--size 1536] [--threads 2]

The upscale runs in a fresh child process (so the figure is that of one ``zoo upscale``-like
run, interpreter and torch included); the child reads its own high-water mark ``VmHWM`` from
/proc/self/status. The input is scikit-image's astronaut resized to SIZE x SIZE. Weights are the
offline (packaged) ones unless the model is cached. Target (issue 2): 1536x1536 x4 within 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

CHILD = r"""
import json, sys, time
import numpy as np
import torch
from PIL import Image
from skimage import data
import zoo

model, size, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
image = Image.fromarray(data.astronaut()).resize((size, size), Image.BICUBIC)
up = zoo.load(model)
start = time.perf_counter()
tiles = []
out = up(image, progress=lambda done, total: tiles.append(total))
seconds = time.perf_counter() - start
status = open("/proc/self/status").read()
peak_kb = int(next(l for l in status.splitlines() if l.startswith("VmHWM:")).split()[1])
print(json.dumps({"model": model, "input": [size, size], "output": list(out.size), "tile": up.default_tile,
                  "overlap": up.default_overlap, "tiles": tiles[-1] if tiles else 1, "seconds": round(seconds, 1),
                  "peak_rss_mb": round(peak_kb / 1024, 1)}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="realesrgan-x4plus")
    parser.add_argument("--size", type=int, default=1536)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit-mb", type=float, default=2048, help="target peak RSS")
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1")}
    started = time.time()
    result = subprocess.run([sys.executable, "-c", CHILD, args.model, str(args.size), str(args.threads)],
                            capture_output=True, text=True, env=env)
    if result.returncode != 0:
        print(result.stderr, file=sys.stderr)
        return 1
    record = json.loads(result.stdout.strip().splitlines()[-1])
    record["wall_seconds"] = round(time.time() - started, 1)
    record["within_limit"] = record["peak_rss_mb"] <= args.limit_mb
    print(json.dumps(record, indent=2))
    return 0 if record["within_limit"] else 1


if __name__ == "__main__":
    sys.exit(main())
