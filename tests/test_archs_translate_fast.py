"""The pix2pix / CycleGAN generators' no-grad CPU fast path computes the plain forward's function.

Small configs (ngf 8) with random weights and non-trivial BatchNorm statistics; "plain" is the
module-by-module forward (``zoo.archs.fast_path.plain()``), the official maths.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from zoo.archs import build, fast_path, translate_fast
from zoo.archs.norms import set_test_mode

TOL = 1e-5

UNET = {"input_nc": 3, "output_nc": 3, "num_downs": 5, "ngf": 8, "norm": "batch", "use_dropout": True}
RESNET = {"input_nc": 3, "output_nc": 3, "ngf": 8, "norm": "instance", "use_dropout": False, "n_blocks": 2}
CASES = {
    "unet_batch": ("unet", UNET, (2, 3, 64, 32)),
    "unet_instance": ("unet", {**UNET, "norm": "instance", "num_downs": 6}, (1, 3, 64, 64)),
    "unet_none": ("unet", {**UNET, "norm": "none"}, (1, 3, 32, 32)),
    "resnet_instance": ("resnet", RESNET, (2, 3, 36, 44)),
    "resnet_batch_dropout_zero": ("resnet", {**RESNET, "norm": "batch", "use_dropout": True, "padding_type": "zero"}, (1, 3, 32, 28)),
    "resnet_replicate": ("resnet", {**RESNET, "padding_type": "replicate", "output_nc": 1}, (1, 3, 20, 24)),
}


def _net(arch: str, config: dict, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    net = build(arch, config)
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and m.bias is not None:
            m.bias.data.normal_(0, 0.2)  # |mean| >> std after some convs: the case that needs accurate statistics
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return net


def plain(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with fast_path.plain(), torch.no_grad():
        return net(x)


@pytest.fixture
def spy(fast_path_calls):
    """Records each generator forward that chose the fast path (class names)."""
    return fast_path_calls


@pytest.mark.parametrize("mode", ["official", "eval"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_fast_path_equals_plain(case, mode, spy):
    arch, config, shape = CASES[case]
    net = set_test_mode(_net(arch, config), mode)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.rand(shape) * 2 - 1
    with torch.no_grad():
        fast = net(x)
    assert spy, "the fast path did not run"
    expected = plain(net, x)
    assert fast.shape == expected.shape and fast.is_contiguous()
    assert (fast - expected).abs().max().item() <= TOL
    after = net.state_dict()
    assert list(after) == list(before)  # same keys, same order
    assert all(torch.equal(after[k], v) for k, v in before.items())  # BatchNorm buffers untouched


def test_inference_mode_and_channels_last_input(spy):
    net = set_test_mode(_net("resnet", RESNET), "eval")
    x = (torch.rand(1, 3, 24, 24) * 2 - 1).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        fast = net(x)
    assert spy == ["ResnetGenerator"]
    assert (fast - plain(net, x)).abs().max().item() <= TOL


@pytest.mark.parametrize("arch,config", [("unet", UNET), ("resnet", RESNET)])
def test_training_and_grad_mode_use_the_plain_path(arch, config, spy):
    net = _net(arch, config).train()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    out = net(x)  # training mode, grad on
    out.square().mean().backward()
    grads = [p.grad for p in net.parameters()]
    assert all(g is not None for g in grads) and sum(g.abs().sum() for g in grads) > 0
    with torch.no_grad():
        net(x)  # training mode (Dropout active, BatchNorm updating its statistics), no grad
    set_test_mode(net, "eval")
    y = net(x)  # test mode, grad on
    assert y.requires_grad
    y.mean().backward()
    assert spy == []


def test_hooks_and_replaced_forwards(spy):
    net = set_test_mode(_net("resnet", RESNET), "eval")
    x = torch.rand(1, 3, 24, 24) * 2 - 1
    norm = next(m for m in net.modules() if isinstance(m, nn.InstanceNorm2d))
    seen = []
    handle = norm.register_forward_hook(lambda m, i, o: seen.append(o.shape))
    with torch.no_grad():
        out = net(x)  # a hooked norm layer is called as a module, within the fast path
    handle.remove()
    assert spy == ["ResnetGenerator"] and len(seen) == 1
    assert (out - plain(net, x)).abs().max().item() <= TOL

    norm.forward = lambda t: torch.tanh(t)  # a replaced forward, as zoo.tasks.norm_stats installs
    try:
        with torch.no_grad():
            out = net(x)
        assert (out - plain(net, x)).abs().max().item() <= TOL
    finally:
        del norm.forward

    conv = next(m for m in net.modules() if isinstance(m, nn.Conv2d))
    handle = conv.register_forward_hook(lambda m, i, o: seen.append("conv"))
    with torch.no_grad():
        net(x)  # any other hooked module: the plain forward
    handle.remove()
    assert spy == ["ResnetGenerator", "ResnetGenerator"] and seen[-1] == "conv"


def test_fast_path_flag_and_unsupported_inputs(spy):
    net = set_test_mode(_net("unet", UNET), "official")
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        with fast_path.plain():
            net(x)
        net.double()(x.double())
    assert spy == []


# -- the building blocks on their own -----------------------------------------------------------


@pytest.mark.parametrize(
    "cin,cout,size,kernel,stride,padding,output_padding,batch",
    [
        (64, 64, 1, 4, 2, 1, 0, 1),  # tiny input: GEMM, rows x weight
        (128, 64, 2, 4, 2, 1, 0, 2),
        (64, 32, 4, 4, 2, 1, 0, 1),  # GEMM, weight^T x rows
        (16, 8, 9, 3, 2, 1, 1, 2),  # the ResNet's x2 upsampling, oneDNN
        (8, 3, 16, 4, 2, 1, 0, 1),
    ],
)
def test_conv_transpose_routes(cin, cout, size, kernel, stride, padding, output_padding, batch):
    torch.manual_seed(cin + size)
    m = nn.ConvTranspose2d(cin, cout, kernel, stride, padding, output_padding)
    x = torch.randn(batch, cin, size, size + 1)
    with torch.no_grad():
        for act, scalars, fn in (("none", (), lambda t: t), ("relu", (), F.relu), ("tanh", (), torch.tanh)):
            got = translate_fast.conv_transpose(x, m, act, scalars)
            assert (got - fn(m(x))).abs().max().item() <= TOL


@pytest.mark.parametrize("per_sample,affine", [(True, False), (False, True), (False, False)])
def test_batch_stats_norm_is_as_accurate_as_the_nchw_kernel(per_sample, affine):
    torch.manual_seed(3)
    x = torch.randn(2, 64, 48, 40) * 0.3 + torch.randn(1, 64, 1, 1) * 3  # |mean| >> std
    weight, bias = (torch.rand(64) + 0.5, torch.randn(64)) if affine else (None, None)

    def reference(t, w, b):  # torch's batch_norm kernels: NCHW or channels_last, as t is
        if per_sample:
            return torch.cat([F.batch_norm(t[i : i + 1], None, None, w, b, training=True, eps=1e-5) for i in range(len(t))])
        return F.batch_norm(t, None, None, w, b, training=True, eps=1e-5)

    exact = reference(x.double(), *((weight.double(), bias.double()) if affine else (None, None)))
    torch_nchw = (reference(x, weight, bias).double() - exact).abs().max().item()
    torch_cl = (reference(x.contiguous(memory_format=torch.channels_last), weight, bias).double() - exact).abs().max().item()
    got = translate_fast._batch_stats_norm(x, weight, bias, 1e-5, per_sample=per_sample)
    assert got.is_contiguous(memory_format=torch.channels_last)
    err = (got.double() - exact).abs().max().item()
    # Both compute x * a + b; torch's NCHW kernel rounds that once (FMA), addcmul twice.
    assert err <= 4 * torch_nchw and err < torch_cl / 3, (err, torch_nchw, torch_cl)
