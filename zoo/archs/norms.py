"""Normalisation choices of the pix2pix / CycleGAN networks and their test-time semantics.

``norm`` is one of the official ``--norm`` values:

* ``batch``: ``BatchNorm2d(affine=True, track_running_stats=True)``; the convs feeding it have no bias.
* ``instance``: ``InstanceNorm2d(affine=False, track_running_stats=False)``: no parameters, no
  buffers; the convs feeding it have a bias (cancelled by the normalisation, kept for key parity).
* ``none``: an identity layer (no keys), and convs without bias.

The second half of the module is the no-grad CPU fast path the U-Net and ResNet generators share
(``fast_path.gate``, ``conv``, ``conv_transpose``, ``apply_norm``, ``run_fast``). Tensors there are
float32 [N, C, H, W] activations in whatever range the network produces, channels_last or NCHW
as each function states.
"""

from __future__ import annotations

from torch import nn

NORMS = ("batch", "instance", "none")


def norm_layer(norm: str, channels: int) -> nn.Module:
    if norm == "batch":
        return nn.BatchNorm2d(channels, affine=True, track_running_stats=True)
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if norm == "none":
        return nn.Identity()
    raise ValueError(f"norm must be one of {NORMS}, not {norm!r}")


def conv_bias(norm: str) -> bool:
    """Whether convs followed by a norm layer carry a bias (the official ``use_bias``)."""
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, not {norm!r}")
    return norm == "instance"


TEST_MODES = ("official", "eval")


def set_test_mode(net: nn.Module, mode: str) -> nn.Module:
    """Put ``net`` in one of the deterministic test-time behaviours; returns ``net``.

    * ``eval``: ``net.eval()``: BatchNorm uses its running statistics, Dropout is off.
    * ``official``: what pix2pix's ``test.py`` does without ``--eval``, minus the random dropout:
      every BatchNorm2d normalises with the statistics of the batch being processed (and does
      not update its running statistics), Dropout is off.

    InstanceNorm behaves the same in both (per-sample statistics), so CycleGAN's generators
    give identical outputs either way.
    """
    if mode not in TEST_MODES:
        raise ValueError(f"test mode must be one of {TEST_MODES}, not {mode!r}")
    net.eval()
    if mode == "official":
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.train()
                module.track_running_stats = False  # use batch statistics, leave the buffers alone
    else:
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.track_running_stats = True
    return net
