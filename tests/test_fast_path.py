"""The one fast-path gate (zoo.archs.fast_path): the same rule for every network, and its fallback."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from zoo.archs import arch_classes, build, fast_path

# one small network per architecture that has a fast route: kwargs, input shape, and the class
# whose forward holds the route (StyleGAN2's is its synthesis network, fed the mapped ws)
SMALL = {
    "rrdbnet": ({"num_feat": 8, "num_block": 1, "num_grow_ch": 4}, (1, 3, 12, 12), "RRDBNet"),
    "srvgg": ({"num_feat": 8, "num_conv": 2}, (1, 3, 12, 12), "SRVGGNetCompact"),
    "unet": ({"num_downs": 5, "ngf": 4, "norm": "instance"}, (1, 3, 32, 32), "UnetGenerator"),
    "resnet": ({"ngf": 4, "n_blocks": 1}, (1, 3, 16, 16), "ResnetGenerator"),
    "stylegan2": ({"z_dim": 8, "w_dim": 8, "img_resolution": 16, "channels": [16, 16, 8], "mapping_layers": 2},
                  (2, 8), "SynthesisNetwork"),
    "deepfillv2": ({"cnum": 8, "layout": "pt"}, (1, 5, 32, 32), "DeepFillV2"),  # (x, mask): mask made below
}


def small(arch: str) -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """The network and its call's arguments."""
    torch.manual_seed(0)
    kwargs, shape, _ = SMALL[arch]
    x = torch.rand(shape)
    if arch != "deepfillv2":
        return build(arch, kwargs).eval(), (x,)
    mask = torch.zeros(1, 1, *shape[2:])
    mask[..., 8:20, 10:24] = 1
    return build(arch, kwargs).eval(), (x, mask)


def route_owner(arch: str, net: nn.Module) -> nn.Module:
    return next(m for m in net.modules() if type(m).__name__ == SMALL[arch][2])


def a_leaf_of_the_route(arch: str, net: nn.Module) -> nn.Module:
    """A leaf module with a weight inside the module whose forward holds the fast route."""
    owner = route_owner(arch, net)
    return next(m for m in owner.modules() if m is not owner and "weight" in m._parameters and not list(m.children()))


@pytest.mark.parametrize("arch", sorted(SMALL))
def test_every_network_honours_hooks_train_mode_autograd_and_the_switch(arch, fast_path_calls):
    net, x = small(arch)  # x: the call's arguments
    route = SMALL[arch][2]
    with torch.no_grad():
        fast = net(*x)
    assert fast_path_calls == [route]
    with fast_path.plain(), torch.no_grad():
        reference = net(*x)
    torch.testing.assert_close(fast, reference, atol=1e-5, rtol=1e-5)
    fast_path_calls.clear()

    conv = a_leaf_of_the_route(arch, net)
    seen = []
    handle = conv.register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape)))
    with torch.no_grad():
        hooked = net(*x)
    handle.remove()
    assert seen and fast_path_calls == [], "a hooked submodule must run: the plain forward"
    torch.testing.assert_close(hooked, reference, atol=0, rtol=0)

    own = []
    handle = net.register_forward_hook(lambda m, i, o: own.append(1))
    with torch.no_grad():
        net(*x)  # a hook on the network itself wraps forward: the fast route may run
    handle.remove()
    assert own == [1] and fast_path_calls == [route]
    fast_path_calls.clear()

    with torch.no_grad():
        net.train()(*x)  # train mode
    net.eval()
    net(*x)  # autograd
    assert fast_path_calls == []


def test_without_onednn_every_network_falls_back_to_its_plain_forward(monkeypatch, fast_path_calls):
    monkeypatch.setattr(fast_path, "_HAVE_ONEDNN", False)
    assert not fast_path.have_onednn()
    for arch in SMALL:
        net, x = small(arch)  # x: the call's arguments
        with torch.no_grad():
            got = net(*x)
        with fast_path.plain(), torch.no_grad():
            torch.testing.assert_close(got, net(*x), atol=0, rtol=0)
    assert fast_path_calls == []


def test_only_the_fast_path_module_calls_the_private_onednn_ops():
    from pathlib import Path

    import zoo

    users = [p.relative_to(Path(zoo.__file__).parent) for p in Path(zoo.__file__).parent.rglob("*.py")
             if "torch.ops.mkldnn" in p.read_text()]
    assert users == [Path("archs/fast_path.py")]


@pytest.mark.parametrize("act, scalars", [("none", ()), ("relu", ()), ("leaky_relu", (0.2,)), ("tanh", ())])
def test_pointwise_convolutions_compute_conv_then_activation(act, scalars):
    torch.manual_seed(3)
    x, w, b = torch.randn(1, 4, 9, 7), torch.randn(5, 4, 3, 3), torch.randn(5)
    got = fast_path.conv_pointwise(x, w, b, (1, 1), (1, 1), (1, 1), 1, act, scalars)
    y = F.conv2d(x, w, b, padding=1)
    want = {"none": y, "relu": F.relu(y), "leaky_relu": F.leaky_relu(y, 0.2), "tanh": torch.tanh(y)}[act]
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    wt = torch.randn(4, 5, 3, 3)
    got_t = fast_path.conv_transpose_pointwise(x, wt, b, (1, 1), (1, 1), (2, 2), (1, 1), 1, act, scalars)
    yt = F.conv_transpose2d(x, wt, b, stride=2, padding=1, output_padding=1)
    want_t = {"none": yt, "relu": F.relu(yt), "leaky_relu": F.leaky_relu(yt, 0.2), "tanh": torch.tanh(yt)}[act]
    torch.testing.assert_close(got_t, want_t, atol=1e-5, rtol=1e-5)


def test_the_architectures_without_a_fast_route_are_listed():
    """Every other network keeps only its plain forward; the list is checked, so a new one is a decision."""
    assert sorted(set(arch_classes()) - set(SMALL)) == [
        "deepfillv2_d", "huggan_cyclegan_d", "huggan_pix2pix_d", "huggan_resnet", "huggan_unet", "lpips_vgg16", "nlayer_d", "pixel_d", "stylegan2_d"]
