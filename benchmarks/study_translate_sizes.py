#!/usr/bin/env python
"""Translate at any size: trained resolution vs native size, and tiling with image-wide statistics.

    python benchmarks/study_translate_sizes.py [--seconds 300] [--sizes 512 1024 2048]

The released pix2pix / CycleGAN weights cannot be downloaded where gan-zoo is tested, and a
random-weight network says nothing about image quality. So this study first trains two small
proxies with the official architectures and norms on a task with a ground truth, colourisation
(gray in, RGB out, L1 loss, Adam 1e-3, random 256 x 256 crops), for ``--seconds`` each:

* U-Net: ``unet_256`` layout (8 levels), ngf 16, batch norm, run in the "official" test mode;
* ResNet: ``resnet_6blocks`` layout, ngf 16, instance norm.

Training photos: Debian's mate-backgrounds nature photos (``/usr/share/backgrounds/mate``) when
installed, plus scikit-image's bundled colour photos, each reduced to a long side of 512. Test
photos (never trained on): scikit-image's astronaut, coffee and chelsea, and mate's LadyBird /
Garden when present, resized to each long side in ``--sizes``.

For each strategy it reports PSNR against the true colours (dB, higher is better), the largest
and mean difference from the one-pass native output in 8-bit levels, and seconds. Strategies:
``squashed`` (the official test script: resize to 256 x 256 and back), ``trained`` (gan-zoo:
short side to 256, aspect kept, and back), ``native`` (one pass at the image's size), and for
the ResNet ``tiled`` (512 tiles, 64 context) with per-tile statistics vs statistics recorded on
a reduced copy of the whole image (``zoo.tasks.norm_stats``) at several reduced sizes. Two
reference rows need no model: the gray input itself, and the true colours taken to a short side of
256 and back (the most detail the training-scale route can keep).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from zoo.archs import build
from zoo.archs.norms import set_test_mode
from zoo.tasks import norm_stats
from zoo.tasks.translate import at_trained_scale
from zoo.tasks.tiling import run_tiled

MATE = Path("/usr/share/backgrounds/mate/nature")
HELD_OUT_MATE = ("LadyBird.jpg", "Garden.jpg")
CROP = 256


def _skimage_photos() -> dict[str, np.ndarray]:
    """scikit-image's bundled colour photos (files shipped in the wheel, no download)."""
    import skimage

    folder = Path(skimage.__file__).parent / "data"
    out = {}
    for name in ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png", "color.png"):
        with Image.open(folder / name) as im:
            out[name.split(".")[0]] = np.asarray(im.convert("RGB"))
    return out


def photos() -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """(training photos, test photos by name), RGB uint8."""
    sk = _skimage_photos()
    test = {k: sk.pop(k) for k in ("astronaut", "coffee", "chelsea")}
    train = list(sk.values())
    if MATE.is_dir():
        for path in sorted(MATE.glob("*.jpg")):
            with Image.open(path) as im:
                arr = np.asarray(im.convert("RGB"))
            (test.__setitem__(path.stem, arr) if path.name in HELD_OUT_MATE else train.append(arr))
    train = [np.asarray(Image.fromarray(a).resize(_fit(a, 512), Image.LANCZOS)) for a in train]
    return train, test


def _fit(arr: np.ndarray, long_side: int) -> tuple[int, int]:
    h, w = arr.shape[:2]
    f = long_side / max(h, w)
    return max(CROP, round(w * f)), max(CROP, round(h * f))


def to_pair(rgb: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """(gray [1, 1, H, W], colour [1, 3, H, W]) in [-1, 1]."""
    color = torch.from_numpy(rgb.astype(np.float32) / 255).permute(2, 0, 1)[None] * 2 - 1
    gray = (color * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    return gray, color


def train(net: torch.nn.Module, images: list[np.ndarray], seconds: float, seed: int = 0) -> int:
    """L1 colourisation training on random crops for ``seconds``; returns the iteration count."""
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.train()
    start, steps = time.monotonic(), 0
    while time.monotonic() - start < seconds:
        batch = []
        for _ in range(4):
            img = images[rng.integers(len(images))]
            y, x = rng.integers(0, img.shape[0] - CROP + 1), rng.integers(0, img.shape[1] - CROP + 1)
            crop = img[y : y + CROP, x : x + CROP]
            batch.append(crop[:, ::-1] if rng.random() < 0.5 else crop)
        pairs = [to_pair(np.ascontiguousarray(b)) for b in batch]
        gray, color = torch.cat([g for g, _ in pairs]), torch.cat([c for _, c in pairs])
        loss = F.l1_loss(net(gray), color)
        opt.zero_grad()
        loss.backward()
        opt.step()
        steps += 1
    return steps


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-12)))


def to_u8(y: torch.Tensor) -> np.ndarray:
    return np.rint(np.clip((y[0].permute(1, 2, 0).numpy() + 1) / 2, 0, 1) * 255).astype(np.uint8)


def pad_to(x: torch.Tensor, multiple: int) -> torch.Tensor:
    h, w = x.shape[2:]
    return F.pad(x, (0, (-w) % multiple, 0, (-h) % multiple), mode="reflect")


def strategies(net: torch.nn.Module, kind: str) -> dict:
    multiple = 256 if kind == "unet" else 4

    def squashed(x):  # the official test script: every image to 256 x 256
        small = F.interpolate(x, size=(256, 256), mode="bicubic", antialias=True, align_corners=False).clamp(-1, 1)
        return F.interpolate(net(small), size=x.shape[2:], mode="bicubic", antialias=True, align_corners=False).clamp(-1, 1)

    def trained(x):  # gan-zoo's "trained": short side 256, aspect kept
        return at_trained_scale(net, x, 256, multiple)

    def native(x):
        h, w = x.shape[2:]
        return net(pad_to(x, multiple))[:, :, :h, :w]

    def tiled(stats_side: int | None):
        def run(x):
            h, w = x.shape[2:]
            padded = pad_to(x, multiple)
            out = torch.empty(1, 3, *padded.shape[2:])

            def sink(region, y):
                out[:, :, region[0] : region[1], region[2] : region[3]] = y

            if stats_side is None:
                run_tiled(net, padded, 1, sink, tile=512, overlap=64, multiple=multiple)
            else:
                norm_stats.run_tiled_with_image_stats(net, net, padded, sink, tile=512, overlap=64, multiple=multiple, stats_side=stats_side)
            return out[:, :, :h, :w]

        return run

    table = {"squashed 256x256 (official)": squashed, "trained": trained, "native": native}
    if kind == "resnet":
        table.update({"tiled, per-tile stats": tiled(None), "tiled, stats @512": tiled(512), "tiled, stats @1024": tiled(1024)})
    return table


def evaluate(net: torch.nn.Module, kind: str, tests: dict[str, np.ndarray], sizes: list[int]) -> list[dict]:
    rows = []
    for size in sizes:
        for name, rgb in tests.items():
            img = np.asarray(Image.fromarray(rgb).resize(_fit(rgb, size), Image.LANCZOS))
            gray, _ = to_pair(img)
            outs, times = {}, {}
            with torch.inference_mode():
                for label, fn in strategies(net, kind).items():
                    if label == "native" and kind == "unet" and size > 1024:
                        continue
                    t = time.perf_counter()
                    outs[label] = to_u8(fn(gray))
                    times[label] = time.perf_counter() - t
            # what the trained-resolution route can keep at best: the true colours squashed to 256 x 256 and back
            truth = torch.from_numpy(img.astype(np.float32) / 255).permute(2, 0, 1)[None] * 2 - 1
            outs["(bound) truth via short side 256"] = to_u8(at_trained_scale(lambda t: t, truth, 256, 1))
            times["(bound) truth via short side 256"] = 0.0
            outs["(baseline) gray"] = to_u8(gray.repeat(1, 3, 1, 1))
            times["(baseline) gray"] = 0.0
            base = outs.get("native")
            for label, out in outs.items():
                diff = np.abs(out.astype(int) - base.astype(int)) if base is not None else None
                rows.append({
                    "model": kind, "image": name, "size": f"{img.shape[1]}x{img.shape[0]}", "strategy": label,
                    "psnr": round(psnr(out, img), 2), "seconds": round(times[label], 2),
                    "max_vs_native": None if diff is None else int(diff.max()),
                    "mean_vs_native": None if diff is None else round(float(diff.mean()), 3),
                })
                print(json.dumps(rows[-1]), flush=True)
    return rows


def summarise(rows: list[dict]) -> str:
    """Markdown: per model, size and strategy, the mean PSNR over test images and worst differences."""
    lines = ["| model | long side | strategy | PSNR dB (mean) | max / mean levels vs native | seconds (mean) |", "| --- | --- | --- | --- | --- | --- |"]
    seen = []
    for r in rows:
        key = (r["model"], max(map(int, r["size"].split("x"))), r["strategy"])
        if key in seen:
            continue
        seen.append(key)
        group = [q for q in rows if (q["model"], max(map(int, q["size"].split("x"))), q["strategy"]) == key]
        maxes = [q["max_vs_native"] for q in group if q["max_vs_native"] is not None]
        means = [q["mean_vs_native"] for q in group if q["mean_vs_native"] is not None]
        vs = f"{max(maxes)} / {np.mean(means):.2f}" if maxes else "n/a"
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {np.mean([q['psnr'] for q in group]):.2f} | {vs} | {np.mean([q['seconds'] for q in group]):.2f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300, help="training time per proxy model")
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048], help="long sides of the test images")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    train_set, tests = photos()
    print(f"{len(train_set)} training photos, test photos: {', '.join(tests)}")
    rows = []
    for kind, arch, kwargs, mode in (
        ("unet", "unet", {"input_nc": 1, "output_nc": 3, "num_downs": 8, "ngf": 16, "norm": "batch", "use_dropout": False}, "official"),
        ("resnet", "resnet", {"input_nc": 1, "output_nc": 3, "ngf": 16, "norm": "instance", "n_blocks": 6}, "eval"),
    ):
        net = build(arch, kwargs)
        steps = train(net, train_set, args.seconds)
        set_test_mode(net, mode)
        print(f"{kind}: {steps} training steps of 4 x {CROP}^2 in {args.seconds:g} s; test mode {mode}")
        rows += evaluate(net, kind, tests, args.sizes)
    print()
    print(summarise(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
