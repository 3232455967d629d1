#!/usr/bin/env python
"""Winograd study: F(2x2,3x3) and F(4x4,3x3) for the RRDBNet dense blocks, against the oneDNN fast path.

    python benchmarks/bench_winograd.py [--size 128] [--conv-size 256] [--reps 3] [--threads 2]

Every family is dominated by 3x3 stride-1 convolutions, and this torch build's oneDNN has no
Winograd kernels for AVX2, so the question is whether Winograd written with torch's own ops
(transforms as small matrix products, the per-position products as batched GEMMs) beats oneDNN's
direct convolution on this CPU. F(m x m, 3x3) computes an m x m output tile from an (m+2) x (m+2)
input tile with (m+2)^2 products per channel pair instead of 9 m^2: 2.25x fewer multiply-adds for
m = 2, 4x for m = 4 (Lavin & Gray 2016; the interpolation points 0, +-1, +-2, infinity).

The dense-block variant keeps what a naive one does twice: a transformed input is linear in the
channels, so each new feature map (x, x1 .. x4) is transformed once and every later convolution
of the block reads it from the Winograd domain (its product summed piece by piece, ``baddbmm``),
never re-transforming the concatenation. The weights are transformed once, before timing (the fast
path converts its weights on every call, about 10 ms per forward; that is not charged to it either).

Three measurements, interleaved, medians:

1. the five convolutions of one dense block (x4plus widths 64 -> 32 ... 192 -> 64) at
   ``--conv-size`` squared: oneDNN direct vs each Winograd size, with the time split into input
   transform, products and output transform;
2. the whole RRDBNet x4plus forward (real Real-ESRGAN weights, ``zoo.load("realesrgan-x4plus")``,
   a ``--size`` crop of scikit-image's astronaut) with the dense blocks of the fast path replaced;
3. each output's largest difference from the float64 plain forward, next to the fp32 fast path's
   own (the parity tolerance is 1e-4).

Keep-rule (issue 13): Winograd goes into ``zoo.archs`` only where it is at least 1.3x on the
RRDBNet forward with outputs within 1e-4. The verdict is printed; benchmarks/RESULTS.md records it.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

SPECS = {
    "F(2x2,3x3)": dict(
        m=2,
        BT=[[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
        G=[[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
        AT=[[1, 1, 1, 0], [0, 1, -1, -1]],
    ),
    "F(4x4,3x3)": dict(
        m=4,
        BT=[[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0],
            [0, 4, 0, -5, 0, 1]],
        G=[[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6],
           [0, 0, 1]],
        AT=[[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
    ),
}


@dataclass
class Grid:
    """Tiles of an H x W map: nh x nw output tiles of m x m, input tiles of (m+2) x (m+2) at stride m."""
    h: int
    w: int
    m: int

    @property
    def nh(self) -> int:
        return -(-self.h // self.m)

    @property
    def nw(self) -> int:
        return -(-self.w // self.m)

    @property
    def tiles(self) -> int:
        return self.nh * self.nw


class Winograd:
    """The transforms of one F(m x m, 3x3). Maps are NHWC [H, W, C] float32 (batch 1); the Winograd
    domain is [P, tiles, C] with P = (m+2)^2 positions, the layout of a batched GEMM over positions.

    Both transforms are separable (B^T d B, A^T M A), so each is two matrix products with a
    (m+2)-long inner dimension instead of one with (m+2)^2. Every intermediate lives in a buffer
    kept between calls: a fresh tensor of tens of MB costs a page fault per 4 KB when first written.
    """

    def __init__(self, spec: dict) -> None:
        self.m = spec["m"]
        self.a = self.m + 2
        self.P = self.a * self.a
        self.bt = torch.tensor(spec["BT"], dtype=torch.float32)  # [a, a]
        self.at = torch.tensor(spec["AT"], dtype=torch.float32)  # [m, a]
        self.g = torch.tensor(spec["G"], dtype=torch.float64)
        self.buffers: dict[tuple, torch.Tensor] = {}

    def weight(self, w: torch.Tensor) -> torch.Tensor:
        """[O, I, 3, 3] -> U = G w G^T per position, [P, I, O] (computed in float64)."""
        u = torch.einsum("ak,oikl,bl->abio", self.g, w.double(), self.g)
        return u.reshape(self.P, w.shape[1], w.shape[0]).float().contiguous()

    def buffer(self, name: str, shape: tuple[int, ...]) -> torch.Tensor:
        key = (name, shape)
        if key not in self.buffers:
            self.buffers[key] = torch.zeros(shape)
        return self.buffers[key]

    def padded(self, grid: Grid, channels: int) -> torch.Tensor:
        """The zero-bordered input buffer [nh*m + 2, nw*m + 2, C]; write a map into ``interior``."""
        return self.buffer("pad", (grid.nh * self.m + 2, grid.nw * self.m + 2, channels))

    def interior(self, padded: torch.Tensor, grid: Grid) -> torch.Tensor:
        """[nh, m, nw, m, C] view of the map's place inside ``padded``."""
        c = padded.shape[-1]
        return padded[1:1 + grid.nh * self.m, 1:1 + grid.nw * self.m].view(grid.nh, self.m, grid.nw, self.m, c)

    def forward_transform(self, padded: torch.Tensor, grid: Grid, out: torch.Tensor) -> torch.Tensor:
        """V = B^T d B of every input tile of ``padded`` into ``out`` [P, tiles, C]."""
        _, wp, c = padded.shape
        a = self.a
        windows = padded.as_strided((a, a, grid.nh, grid.nw, c), (wp * c, c, self.m * wp * c, self.m * c, 1))
        gathered = self.buffer("gather", (a, a * grid.tiles * c))
        gathered.view(a, a, grid.nh, grid.nw, c).copy_(windows)
        rows = self.buffer("rows", (a, a * grid.tiles * c))
        torch.mm(self.bt, gathered, out=rows)  # contract the row offset
        out_v, rows_v = out.view(a, a, -1), rows.view(a, a, -1)
        for i in range(a):  # contract the column offset
            torch.mm(self.bt, rows_v[i], out=out_v[i])
        return out

    def inverse_transform(self, products: torch.Tensor, grid: Grid) -> torch.Tensor:
        """Y = A^T M A: [P, tiles, O] -> [nh, m, nw, m, O] (a view in map order, of a reused buffer)."""
        o = products.shape[-1]
        m, a = self.m, self.a
        rows = self.buffer("out_rows", (m, a * grid.tiles * o))
        torch.mm(self.at, products.view(a, -1), out=rows)
        y = self.buffer("out", (m, m, grid.tiles * o))
        rows_v = rows.view(m, a, -1)
        for i in range(m):
            torch.mm(self.at, rows_v[i], out=y[i])
        return y.view(m, m, grid.nh, grid.nw, o).permute(2, 0, 3, 1, 4)


def dense_block_weights(rdb, wg: Winograd, nf: int, gc: int) -> list[tuple[list[torch.Tensor], torch.Tensor]]:
    """Per convolution of a dense block: the transformed weight split by input piece (x, x1, ...), and its bias."""
    out = []
    for k, conv in enumerate((rdb.conv1, rdb.conv2, rdb.conv3, rdb.conv4, rdb.conv5)):
        u = wg.weight(conv.weight.detach())
        bounds = [0, nf] + [nf + gc * (j + 1) for j in range(k)]
        out.append(([u[:, bounds[j]:bounds[j + 1]].contiguous() for j in range(k + 1)], conv.bias.detach()))
    return out


def dense_block_winograd_(x: torch.Tensor, weights, wg: Winograd, slope: float = 0.2, scale: float = 0.2,
                          timings: dict | None = None) -> torch.Tensor:
    """``x <- x + 0.2 * conv5(...)`` of one dense block, in place; x channels_last [1, nf, H, W]."""
    _, nf, h, w = x.shape
    grid = Grid(h, w, wg.m)
    if h % wg.m or w % wg.m:
        raise ValueError(f"this study needs H and W divisible by {wg.m}")
    clock = time.perf_counter
    spent = timings if timings is not None else {}
    xs = x[0].permute(1, 2, 0)  # NHWC view of the channels_last tensor
    t0 = clock()
    pad = wg.padded(grid, nf)
    wg.interior(pad, grid).copy_(xs.view(grid.nh, wg.m, grid.nw, wg.m, nf))
    widths = [nf] + [u[-1].shape[-1] for u, _ in weights[:-1]]
    pieces = [wg.buffer(f"piece{j}", (wg.P, grid.tiles, c)) for j, c in enumerate(widths)]
    wg.forward_transform(pad, grid, pieces[0])
    spent["in"] = spent.get("in", 0.0) + clock() - t0
    for k, (us, bias) in enumerate(weights):
        t0 = clock()
        products = wg.buffer(f"products{us[0].shape[-1]}", (wg.P, grid.tiles, us[0].shape[-1]))
        torch.bmm(pieces[0], us[0], out=products)
        for v, u in zip(pieces[1:k + 1], us[1:]):
            products.baddbmm_(v, u)
        t1 = clock()
        spent["gemm"] = spent.get("gemm", 0.0) + t1 - t0
        y = wg.inverse_transform(products, grid)
        if k < len(weights) - 1:
            pad = wg.padded(grid, y.shape[-1])
            inside = wg.interior(pad, grid)
            torch.add(y, bias, out=inside)
            F.leaky_relu_(inside, slope)
            t2 = clock()
            wg.forward_transform(pad, grid, pieces[k + 1])
            spent["out"] = spent.get("out", 0.0) + t2 - t1
            spent["in"] += clock() - t2
        else:
            xs.view(grid.nh, wg.m, grid.nw, wg.m, nf).add_(y + bias, alpha=scale)
            spent["out"] = spent.get("out", 0.0) + clock() - t1
    return x


def median_time(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def conv_study(size: int, reps: int) -> None:
    """Measurement 1: the five convolutions of a dense block, direct vs Winograd (random weights)."""
    from zoo.archs.esrgan import ResidualDenseBlock

    torch.manual_seed(0)
    rdb = ResidualDenseBlock(64, 32).eval()
    x = torch.randn(1, 64, size, size).contiguous(memory_format=torch.channels_last)
    cl = torch.channels_last
    grams = {name: Winograd(spec) for name, spec in SPECS.items()}
    weights = {name: dense_block_weights(rdb, grams[name], 64, 32) for name in SPECS}

    cat_bufs = [torch.empty(1, 64 + 32 * k, size, size, memory_format=cl) for k in (1, 2, 3, 4)]

    def direct():
        y = x.clone()
        with torch.no_grad():
            rdb._forward_fast_(y, cat_bufs)
        return y

    rows: dict[str, list[float]] = {"direct": [], **{name: [] for name in SPECS}}
    parts: dict[str, list[dict]] = {name: [] for name in SPECS}
    with torch.no_grad():
        ref = direct()
        for name in SPECS:
            err = (dense_block_winograd_(x.clone(), weights[name], grams[name]) - ref).abs().max().item()
            print(f"  dense block {name}: max |winograd - direct| = {err:.2e}")
        for _ in range(reps):
            t = time.perf_counter()
            direct()
            rows["direct"].append(time.perf_counter() - t)
            for name in SPECS:
                spent: dict = {}
                y = x.clone()
                t = time.perf_counter()
                dense_block_winograd_(y, weights[name], grams[name], timings=spent)
                rows[name].append(time.perf_counter() - t)
                parts[name].append(spent)
    d = statistics.median(rows["direct"])
    print(f"dense block (5 convs, 64+4x32 channels), {size}x{size}, medians of {reps}:")
    print(f"  oneDNN direct (fast path): {d * 1e3:.0f} ms")
    for name in SPECS:
        t = statistics.median(rows[name])
        split = {k: statistics.median(p[k] for p in parts[name]) for k in ("in", "gemm", "out")}
        print(f"  {name}: {t * 1e3:.0f} ms ({d / t:.2f}x); input transforms {split['in'] * 1e3:.0f} ms, "
              f"products {split['gemm'] * 1e3:.0f} ms, output transforms {split['out'] * 1e3:.0f} ms")


def forward_study(size: int, reps: int) -> None:
    """Measurements 2 and 3: the whole RRDBNet x4plus forward on real weights."""
    from PIL import Image
    from skimage import data

    import zoo
    from zoo.archs import esrgan, fast_path

    net = zoo.load("realesrgan-x4plus").net.eval()
    image = np.asarray(Image.fromarray(data.astronaut()).resize((size, size), Image.BICUBIC), dtype=np.float32) / 255
    x = torch.from_numpy(image).permute(2, 0, 1)[None].contiguous()
    nf, gc = net.num_feat, net.num_grow_ch
    with torch.no_grad(), fast_path.plain():
        truth = net.double()(x.double())
    net.float()
    grams = {name: Winograd(spec) for name, spec in SPECS.items()}
    t0 = time.perf_counter()
    weights = {name: {id(rdb): dense_block_weights(rdb, grams[name], nf, gc)
                      for block in net.body for rdb in (block.rdb1, block.rdb2, block.rdb3)} for name in SPECS}
    print(f"  weight transforms (both sizes, once): {time.perf_counter() - t0:.2f} s")
    original = esrgan.ResidualDenseBlock._forward_fast_

    def run(name: str | None) -> torch.Tensor:
        if name is None:
            esrgan.ResidualDenseBlock._forward_fast_ = original
        else:
            def winograd_block(self, feats, cat_bufs, _name=name):
                return dense_block_winograd_(feats, weights[_name][id(self)], grams[_name])
            esrgan.ResidualDenseBlock._forward_fast_ = winograd_block
        try:
            with torch.no_grad():
                return net(x)
        finally:
            esrgan.ResidualDenseBlock._forward_fast_ = original

    names = [None, *SPECS]
    label = {None: "oneDNN fast path", **{n: n for n in SPECS}}
    outputs = {n: run(n) for n in names}  # warm-up and the outputs for the error column
    times: dict = {n: [] for n in names}
    for _ in range(reps):
        for n in names:
            t = time.perf_counter()
            run(n)
            times[n].append(time.perf_counter() - t)
    base = statistics.median(times[None])
    print(f"RRDBNet x4plus forward, real weights, {size}x{size} astronaut crop, medians of {reps} interleaved:")
    verdicts = []
    for n in names:
        t = statistics.median(times[n])
        err = (outputs[n].double() - truth).abs().max().item()
        print(f"  {label[n]}: {t:.2f} s ({base / t:.2f}x), max |out - float64 reference| = {err:.2e}")
        if n is not None:
            verdicts.append(f"{n}: {'keep' if base / t >= 1.3 and err <= 1e-4 else 'do not keep'}"
                            f" ({base / t:.2f}x, error {err:.1e})")
    print("verdict (keep at >= 1.3x and error <= 1e-4): " + "; ".join(verdicts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128, help="RRDBNet input size for the whole-forward figures")
    parser.add_argument("--conv-size", type=int, default=256, help="map size for the dense-block figures")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads")
    conv_study(args.conv_size, args.reps)
    forward_study(args.size, args.reps)


if __name__ == "__main__":
    main()
