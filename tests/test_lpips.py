"""LPIPS-VGG (zoo.archs.lpips, zoo.formats.lpips, zoo.tasks.measure) against the lpips package itself."""

from __future__ import annotations

import warnings

import lpips  # a test dependency (pyproject [test]): the official implementation, and its real heads
import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from zoo.archs.lpips import LPIPSVGG16
from zoo.errors import CheckpointError, ZooError
from zoo.formats import lpips as fmt


def torchvision_vgg16_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict in the layout of torchvision's vgg16-397923af.pth, with seeded random values
    (cheap constant classifier tensors of the real shapes: the reader must drop them)."""
    import torchvision

    torch.manual_seed(seed)
    features = torchvision.models.vgg16(weights=None).features.state_dict()
    sd = {f"features.{k}": v for k, v in features.items()}
    for i, (o, n) in zip((0, 3, 6), ((4096, 25088), (4096, 4096), (1000, 4096))):
        sd[f"classifier.{i}.weight"] = torch.zeros(o, n)
        sd[f"classifier.{i}.bias"] = torch.zeros(o)
    return sd


def official(sd: dict[str, torch.Tensor]):
    """The lpips package's LPIPS-VGG with the trunk of ``sd`` and its own v0.1 heads."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchvision's 'pretrained' deprecation inside lpips
        net = lpips.LPIPS(pretrained=False, net="vgg", pnet_rand=True, verbose=False)
    trunk = {k.removeprefix("features."): v for k, v in sd.items() if k.startswith("features.")}
    slices = {"slice1": range(0, 4), "slice2": range(4, 9), "slice3": range(9, 16), "slice4": range(16, 23), "slice5": range(23, 30)}
    mapped = {f"net.{name}.{k}": v for k, v in trunk.items() for name, r in slices.items() if int(k.split(".")[0]) in r}
    heads = torch.load(fmt.heads_path(), map_location="cpu", weights_only=True)
    missing, unexpected = net.load_state_dict({**mapped, **heads}, strict=False)
    # missing: lpips's own constant buffers, and ``lins.k``, the same heads under a second name
    assert not unexpected and {k for k in missing if not k.startswith("lins.")} == {"scaling_layer.shift", "scaling_layer.scale"}
    return net.eval()


def images(n: int, side: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, side, side, generator=g) * 2 - 1


@pytest.fixture(scope="module")
def converted():
    return fmt.convert(torchvision_vgg16_state_dict())


def test_the_reader_keeps_the_trunk_adds_the_heads_and_says_what_it_dropped(converted):
    assert converted.arch == "lpips_vgg16" and converted.layout == "torchvision-vgg16"
    assert not any(k.startswith("classifier.") for k in converted.state_dict)
    assert {f"lin{k}.weight" for k in range(5)} <= set(converted.state_dict)
    assert any("123.6M parameters" in n and "not kept" in n for n in converted.notes)
    net = converted.network()
    assert sum(p.numel() for p in net.parameters()) == 14_716_160


def test_lpips_equals_the_lpips_package_on_the_same_weights(converted):
    net = converted.network()
    ref = official(torchvision_vgg16_state_dict())
    a, b = images(2, 64, 1), images(2, 64, 2)
    with torch.no_grad():
        got = net(a, b)
        want = ref(a, b).flatten()
        same = net(a, a)
    torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)
    assert got.shape == (2,) and (got > 0).all() and torch.equal(same, torch.zeros(2))


def test_a_fixed_target_gives_the_same_distance(converted, tmp_path):
    from zoo.converted import write_converted

    net = converted.network()
    a, b = images(2, 48, 5), images(2, 48, 6)
    with torch.no_grad():
        torch.testing.assert_close(net.to_target(b)(a), net(a, b), atol=0, rtol=0)
    task = zoo.load(write_converted(tmp_path / "lp", converted, name="lp", task="measure", provenance={}, card=None))
    big_a, big_b = images(1, 300, 7), images(1, 300, 8)  # resized to 256 first
    with torch.no_grad():
        torch.testing.assert_close(task.to_target(big_b)(big_a), task.distance(big_a, big_b), atol=0, rtol=0)


def test_gradients_reach_the_image(converted):
    net = converted.network()
    a = images(1, 32, 3).requires_grad_(True)
    net(a, images(1, 32, 4)).sum().backward()
    assert a.grad is not None and a.grad.abs().sum() > 0


def test_other_files_are_not_claimed_and_bad_heads_are_refused(tmp_path):
    sd = torchvision_vgg16_state_dict()
    assert fmt.convert({k: v for k, v in sd.items() if not k.startswith("classifier.")}) is None
    assert fmt.convert({**sd, "extra": torch.zeros(1)}) is None
    with pytest.raises(CheckpointError, match="no constructor arguments"):
        fmt.convert(sd, {"lpips": True})
    forged = tmp_path / "vgg.pth"
    torch.save({f"lin{k}.model.1.weight": torch.zeros(1, 4, 1, 1) for k in range(5)}, forged)
    with pytest.raises(CheckpointError, match="sha256 differs"):
        fmt.read_heads(forged)


def test_the_registry_entry_is_a_manual_download_with_the_published_sha256():
    info = zoo.info("lpips-vgg16")
    (source,) = info.sources
    assert source.kind == "manual" and source.filename == "vgg16-397923af.pth"
    assert source.sha256.startswith("397923af")  # torchvision names its files by the sha256 prefix
    assert info.task == "measure" and "BSD" in info.licence


def test_the_measure_task_on_pil_images(converted, tmp_path):
    from zoo.converted import write_converted

    folder = write_converted(tmp_path / "lpips", converted, name="lpips-test", task="measure", provenance={}, card=None)
    task = zoo.load(folder)
    rng = np.random.default_rng(0)
    a = Image.fromarray(rng.integers(0, 256, (300, 280, 3), dtype=np.uint8))
    b = Image.fromarray(rng.integers(0, 256, (300, 280, 3), dtype=np.uint8))
    assert task(a, a) == 0.0 and task(a, b) > 0
    with pytest.raises(ZooError, match="differ in size"):
        task(a, b.resize((20, 20)))
    with pytest.raises(ZooError, match="at least 16"):
        task(a.resize((8, 8)), b.resize((8, 8)))


def test_the_network_refuses_mismatched_batches():
    with pytest.raises(ValueError, match="one shape"):
        LPIPSVGG16()(images(1, 32, 0), images(2, 32, 0))
