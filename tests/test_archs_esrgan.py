"""The ESRGAN networks' fused CPU inference path computes the reference function exactly."""

from __future__ import annotations

import pytest
import torch

from zoo.archs import esrgan, fast_path
from zoo.archs.esrgan import RRDBNet, SRVGGNetCompact


def reference(net, x):
    """The plain module-by-module forward (the official maths)."""
    with fast_path.plain(), torch.no_grad():
        return net(x)


@pytest.mark.parametrize("scale,unshuffle", [(4, 1), (2, 2), (1, 4), (2, 1), (3, 1), (8, 1)])
def test_rrdbnet_fast_path_matches_reference(scale, unshuffle, fast_path_calls):
    torch.manual_seed(scale * 10 + unshuffle)
    net = RRDBNet(num_feat=16, num_block=2, num_grow_ch=8, scale=scale, unshuffle=unshuffle).eval()
    x = torch.rand(2, 3, 20, 28)
    with torch.no_grad():
        fast = net(x)
    assert fast_path_calls == ["RRDBNet"], "the fast path did not run"
    assert fast.is_contiguous() and fast.shape == (2, 3, 20 * scale, 28 * scale)
    torch.testing.assert_close(fast, reference(net, x), atol=1e-5, rtol=1e-5)


def test_rrdbnet_tail_in_bands_equals_one_band(monkeypatch, fast_path_calls):
    torch.manual_seed(0)
    net = RRDBNet(num_feat=16, num_block=1, num_grow_ch=8, scale=4).eval()
    x = torch.rand(1, 3, 37, 29)
    with torch.no_grad():
        whole = net(x)
        monkeypatch.setattr(esrgan, "TAIL_BAND_PIXELS", 3000)  # one low-res row per band
        banded = net(x)
    assert fast_path_calls == ["RRDBNet", "RRDBNet"]
    # oneDNN may pick another kernel for a band's shape, so the last float bit can differ (2e-8
    # seen); a misplaced or missing band row differs by orders of magnitude more
    torch.testing.assert_close(banded, whole, atol=1e-6, rtol=0)


@pytest.mark.parametrize("act_type", ["prelu", "relu", "leakyrelu"])
def test_srvgg_fast_path_matches_reference(act_type, fast_path_calls):
    torch.manual_seed(1)
    net = SRVGGNetCompact(num_feat=16, num_conv=3, upscale=3, act_type=act_type).eval()
    x = torch.rand(1, 3, 17, 23)
    with torch.no_grad():
        fast = net(x)
    assert fast_path_calls == ["SRVGGNetCompact"], "the fast path did not run"
    torch.testing.assert_close(fast, reference(net, x), atol=1e-5, rtol=1e-5)


def test_training_uses_the_reference_path_and_has_gradients(fast_path_calls):
    torch.manual_seed(2)
    net = RRDBNet(num_feat=8, num_block=1, num_grow_ch=4, scale=2, unshuffle=2)
    x = torch.rand(1, 3, 8, 8)
    out = net(x)
    with torch.no_grad():
        net(x)  # train mode, even without autograd: the plain forward, as for every network
    assert fast_path_calls == []
    out.mean().backward()
    assert net.conv_first.weight.grad is not None and net.conv_first.weight.grad.abs().sum() > 0
    torch.testing.assert_close(out.detach(), reference(net.eval(), x), atol=0, rtol=0)
