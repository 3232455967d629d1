"""Quality figures for the cards of trained models, each against a simple baseline, on held-out images.

Every report runs the exported folder through ``zoo.load`` (the task a user runs, not the bare
network) on held-out images, and returns ``{"table": [header, *rows], "notes": [...]}``.

* colorize: PSNR (dB, RGB, 8-bit) of the colorised luma against the true colour photo, and the
  colourfulness of Hasler & Süsstrunk (2003), against the baseline of the gray input itself.
* photo -> cartoon (CycleGAN): the stylisation is a known function (``datasets.cartoon``), so each
  held-out photo has its true cartoon; PSNR / mean absolute error of the translation against it,
  against the photo itself as the baseline (the model never saw a pair).
* inpaint: PSNR and L1 inside the hole against OpenCV's Telea inpainting, same holes.
* generator: see ``generator_report`` (FID/KID with a small classifier, nearest neighbours).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from ..errors import ZooError

EVAL_SIDE = 256  # held-out photos are reduced so their short side is this before any measure


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """PSNR in dB of two uint8 arrays of one shape (over ``mask``'s True pixels when given)."""
    d = a.astype(np.float64) - b.astype(np.float64)
    if mask is not None:
        d = d[mask]
    mse = float(np.mean(d * d))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Süsstrunk's M3: sqrt(σ_rg² + σ_yb²) + 0.3·sqrt(μ_rg² + μ_yb²) of an RGB uint8 image."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def held_out_images(spec: str, side: int = EVAL_SIDE) -> list[tuple[str, np.ndarray]]:
    """(name, RGB uint8) of the held-out images, short side ``side`` (``spec``: one source or several,
    comma-separated, as ``datasets.image_set`` takes them)."""
    from .datasets import image_set

    images = image_set(spec, channels=3, load_side=side)
    return list(zip(images.names, images.images))


def colorize_report(folder: Path, eval_data: str, *, resolution: int) -> dict[str, Any]:
    import zoo
    from PIL import Image

    model = zoo.load(Path(folder))
    rows, ours_p, base_p, ours_c, true_c = [], [], [], [], []
    for name, rgb in held_out_images(eval_data):
        luma = np.asarray(Image.fromarray(rgb).convert("L"))
        out = np.asarray(model(Image.fromarray(luma)).convert("RGB"))
        base = np.repeat(luma[:, :, None], 3, axis=2)
        p_out, p_base = psnr(out, rgb), psnr(base, rgb)
        c_out, c_true = colourfulness(out), colourfulness(rgb)
        rows.append([name, f"{p_out:.2f}", f"{p_base:.2f}", f"{c_out:.1f}", f"{c_true:.1f}"])
        ours_p.append(p_out), base_p.append(p_base), ours_c.append(c_out), true_c.append(c_true)
    if not rows:
        raise ZooError(f"{eval_data} holds no held-out images")
    rows.append(["mean", f"{np.mean(ours_p):.2f}", f"{np.mean(base_p):.2f}", f"{np.mean(ours_c):.1f}", f"{np.mean(true_c):.1f}"])
    header = ["image", "PSNR colorised (dB)", "PSNR gray input (dB)", "colourfulness colorised", "colourfulness true"]
    return {"table": [header, *rows], "values": {"psnr": float(np.mean(ours_p)), "psnr_gray": float(np.mean(base_p)),
                                                  "colourfulness": float(np.mean(ours_c))},
            "notes": [f"Held-out photos ({eval_data}), short side {EVAL_SIDE} px; the gray input's colourfulness is 0. "
                      "PSNR over RGB, 8 bits."]}


def cartoon_report(folder: Path, eval_data: str) -> dict[str, Any]:
    """CycleGAN photo <-> cartoon: each direction against the true (known-function) counterpart."""
    import zoo
    from PIL import Image

    from .datasets import cartoon

    to_b, to_a = zoo.load(Path(folder) / "AtoB"), zoo.load(Path(folder) / "BtoA")
    rows, sums = [], np.zeros(8)
    for name, rgb in held_out_images(eval_data):
        toon = cartoon(rgb)
        out_b = np.asarray(to_b(Image.fromarray(rgb)).convert("RGB"))
        out_a = np.asarray(to_a(Image.fromarray(toon)).convert("RGB"))
        figures = [psnr(out_b, toon), psnr(rgb, toon), mae(out_b, toon), mae(rgb, toon),
                   psnr(out_a, rgb), psnr(toon, rgb), mae(out_a, rgb), mae(toon, rgb)]
        sums += figures
        rows.append([name, *(f"{v:.2f}" for v in figures)])
    if not rows:
        raise ZooError(f"{eval_data} holds no held-out images")
    mean = sums / len(rows)
    rows.append(["mean", *(f"{v:.2f}" for v in mean)])
    header = ["image", "photo→cartoon PSNR", "baseline (the photo) PSNR", "photo→cartoon MAE", "baseline MAE",
              "cartoon→photo PSNR", "baseline (the cartoon) PSNR", "cartoon→photo MAE", "baseline MAE"]
    return {"table": [header, *rows], "values": {"psnr_to_cartoon": float(mean[0]), "psnr_to_cartoon_baseline": float(mean[1]),
                                                  "psnr_to_photo": float(mean[4]), "psnr_to_photo_baseline": float(mean[5])},
            "notes": [f"Held-out photos ({eval_data}), short side {EVAL_SIDE} px. The cartoon domain is a known function "
                      "of a photo (zoo.train.datasets.cartoon), so each held-out photo has a true cartoon: the model, "
                      "trained on unpaired photos and cartoons of *other* photos, is scored against it. The baseline is "
                      "doing nothing (the input itself). MAE in 8-bit levels."]}


def mae(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean absolute difference of two uint8 arrays, in levels (over ``mask`` when given)."""
    d = np.abs(a.astype(np.float64) - b.astype(np.float64))
    return float(d[mask].mean() if mask is not None else d.mean())


EVAL_HOLES = 3  # seeded free-form holes per held-out photo


def inpaint_report(folder: Path, eval_data: str, *, seed: int = 0) -> dict[str, Any]:
    """PSNR and L1 inside the hole of the model and of OpenCV's Telea inpainting (radius 3)."""
    import zoo
    from PIL import Image

    from .data import step_generator
    from .masks import free_form_mask

    try:
        import cv2
    except ImportError:
        raise ZooError("the inpainting report compares with OpenCV's Telea: pip install opencv-python-headless") from None
    model = zoo.load(Path(folder))
    rows, sums = [], np.zeros(4)
    for i, (name, rgb) in enumerate(held_out_images(eval_data)):
        for k in range(EVAL_HOLES):
            hole = free_form_mask(step_generator(seed, 10_000 + i, k, "eval-hole"), *rgb.shape[:2])
            out = np.asarray(model(Image.fromarray(rgb), Image.fromarray(hole.astype(np.uint8) * 255)).convert("RGB"))
            telea = cv2.inpaint(rgb, hole.astype(np.uint8) * 255, 3, cv2.INPAINT_TELEA)
            figures = [psnr(out, rgb, hole), psnr(telea, rgb, hole), mae(out, rgb, hole), mae(telea, rgb, hole)]
            sums += figures
            rows.append([f"{name} #{k}", f"{hole.mean():.1%}", *(f"{v:.2f}" for v in figures)])
    if not rows:
        raise ZooError(f"{eval_data} holds no held-out images")
    mean = sums / len(rows)
    rows.append(["mean", "", *(f"{v:.2f}" for v in mean)])
    header = ["image, hole", "hole area", "PSNR model (dB)", "PSNR Telea (dB)", "L1 model", "L1 Telea"]
    return {"table": [header, *rows], "values": {"psnr": float(mean[0]), "psnr_telea": float(mean[1]), "l1": float(mean[2]),
                                                  "l1_telea": float(mean[3])},
            "notes": [f"Held-out photos ({eval_data}), short side {EVAL_SIDE} px, {EVAL_HOLES} seeded free-form holes each "
                      "(zoo.train.masks), measured inside the hole only. L1 in 8-bit levels. Telea: cv2.inpaint, radius 3."]}


FEATURE_SAMPLES = 5000  # generated and real images per FID / KID
NN_SAMPLES = 200  # generated and held-out images in the nearest-neighbour check


class FeatureNet(nn.Module):
    """The small classifier whose 128-d penultimate features FID/KID use: two conv+pool stages and
    two linear layers, for 32x32 one-channel images in [-1, 1]."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1),
                                  nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 8 * 8, 128), nn.ReLU())
        self.head = nn.Linear(128, classes)

    def forward(self, x):
        return self.head(self.body(x))


def _pad32(arr: np.ndarray):
    """[N, 28, 28] uint8 -> [N, 1, 32, 32] float32 in [-1, 1], padded with the background (-1)."""
    import torch
    from torch.nn import functional as F

    x = torch.from_numpy(np.array(arr)).float()[:, None] / 127.5 - 1
    return F.pad(x, (2, 2, 2, 2), value=-1.0)


def train_feature_net(images, labels, *, epochs: int = 2, seed: int = 0) -> FeatureNet:
    import torch
    from torch.nn import functional as F

    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net = FeatureNet()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    y = torch.from_numpy(labels.astype(np.int64))
    for _ in range(epochs):
        order = torch.randperm(len(images), generator=gen)
        for i in range(0, len(order), 128):
            idx = order[i : i + 128]
            loss = F.cross_entropy(net(images[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


def features(net: FeatureNet, x) -> np.ndarray:
    import torch

    with torch.no_grad():
        return torch.cat([net.body(x[i : i + 500]) for i in range(0, len(x), 500)]).double().numpy()


def fid(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance of two feature sets (Heusel et al. 2017)."""
    from scipy import linalg

    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean, _ = linalg.sqrtm(ca @ cb, disp=False)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(ca + cb - 2 * np.real(covmean)))


def kid(a: np.ndarray, b: np.ndarray, *, subsets: int = 50, subset_size: int = 1000, seed: int = 0) -> float:
    """Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD² with the cubic polynomial
    kernel, averaged over random subsets."""
    rng = np.random.default_rng(seed)
    d = a.shape[1]
    m = min(subset_size, len(a), len(b))
    total = 0.0
    for _ in range(subsets):
        x, y = a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = (x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3
        total += (kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean()
    return float(total / subsets)


def nearest(queries, pool) -> tuple[np.ndarray, np.ndarray]:
    """(distance, index) of each query's nearest pool image, L2 over pixels (values in [-1, 1])."""
    import torch

    q, p = queries.flatten(1), pool.flatten(1)
    best_d, best_i = [], []
    for i in range(0, len(q), 50):
        d = torch.cdist(q[i : i + 50], p)
        v, j = d.min(1)
        best_d.append(v), best_i.append(j)
    return torch.cat(best_d).numpy(), torch.cat(best_i).numpy()


def generator_report(folder: Path, options, recipe=None) -> dict[str, Any]:
    """FID / KID with a classifier trained on Fashion-MNIST's labels, and a nearest-neighbour check.

    Only for Fashion-MNIST data (the feature network needs its labels). Writes the sample grid and
    the nearest-neighbour grid beside the run (``RUN/report/``)."""
    import torch
    import zoo
    from torchvision.utils import save_image

    from .data import read_idx_images, read_idx_labels
    from .datasets import FASHION_MNIST, PREFIX

    if options.data != f"{PREFIX}fashion-mnist":
        return {}
    train_x = _pad32(read_idx_images(FASHION_MNIST / "train-images-idx3-ubyte.gz"))
    train_y = read_idx_labels(FASHION_MNIST / "train-labels-idx1-ubyte.gz")
    test_x = _pad32(read_idx_images(FASHION_MNIST / "t10k-images-idx3-ubyte.gz"))
    test_y = read_idx_labels(FASHION_MNIST / "t10k-labels-idx1-ubyte.gz")
    net = train_feature_net(train_x, train_y)
    with torch.no_grad():
        accuracy = float((net(test_x).argmax(1).numpy() == test_y).mean())
    model = zoo.load(Path(folder))
    g = model.net
    z = torch.randn(FEATURE_SAMPLES, g.z_dim, generator=torch.Generator().manual_seed(123))
    with torch.inference_mode():
        fake = torch.cat([g(z[i : i + 500], None, noise_mode="const") for i in range(0, len(z), 500)]).clamp(-1, 1)
    f_fake = features(net, fake)
    f_test = features(net, test_x[:FEATURE_SAMPLES])
    f_train = features(net, train_x[:FEATURE_SAMPLES])
    fid_gen, kid_gen = fid(f_fake, f_test), kid(f_fake, f_test)
    fid_ref, kid_ref = fid(f_train, f_test), kid(f_train, f_test)
    d_fake, i_fake = nearest(fake[:NN_SAMPLES], train_x)
    d_test, _ = nearest(test_x[:NN_SAMPLES], train_x)
    report = Path(folder).parent / "report"
    report.mkdir(exist_ok=True)
    save_image((fake[:64] + 1) / 2, str(report / "samples.png"), nrow=8, padding=1)
    pairs = torch.cat([fake[:16], train_x[torch.from_numpy(i_fake[:16])]])
    save_image((pairs + 1) / 2, str(report / "nearest.png"), nrow=16, padding=1)
    header = ["measure", "generated vs test", "reference: train vs test"]
    rows = [["FID (classifier features)", f"{fid_gen:.2f}", f"{fid_ref:.2f}"],
            ["KID (cubic kernel on the same features)", f"{kid_gen:.3g}", f"{kid_ref:.3g}"],
            ["median L2 to the nearest training image", f"{np.median(d_fake):.2f}", f"{np.median(d_test):.2f} (test images)"]]
    return {"table": [header, *rows], "values": {"fid": fid_gen, "kid": kid_gen, "fid_ref": fid_ref, "nn_fake": float(np.median(d_fake)),
                                                  "nn_test": float(np.median(d_test)), "classifier_accuracy": accuracy},
            "notes": [f"Features: the 128-d penultimate layer of a small CNN trained for 2 epochs on Fashion-MNIST's training "
                      f"labels (test accuracy {accuracy:.1%}); {FEATURE_SAMPLES:,} generated images (ψ 1, constant noise) against "
                      f"{FEATURE_SAMPLES:,} test images. The reference column is real training images against the same test "
                      "images: the floor a perfect generator would reach.",
                      f"Nearest neighbours: L2 over pixels in [-1, 1] from {NN_SAMPLES} generated and {NN_SAMPLES} held-out test "
                      "images to all 60,000 training images: generated images that are no closer to the training set than unseen test images are "
                      "not copies of it."]}
