"""StyleGAN2: the generator against the official outputs, both checkpoint formats, and the manifests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import PARITY
from zoo.archs.stylegan2 import Generator
from zoo.errors import CheckpointError
from zoo.formats import stylegan2 as fmt

CASES = PARITY / "stylegan2"
ROSI_KWARGS = ("size", "style_dim", "n_mlp", "lr_mlp", "blur_kernel", "channel_multiplier")
TOL = dict(atol=1e-4, rtol=1e-4)


def nvidia(case: str):
    c = json.loads((CASES / case / "case.json").read_text())
    converted = fmt.convert(load_file(str(CASES / case / "G_ema.safetensors")), c["config"]["init_kwargs"])
    return c, converted, load_file(str(CASES / case / "io.safetensors"))


def meta_net(kwargs) -> Generator:
    with torch.device("meta"):
        return Generator(**kwargs)


def net_of(converted) -> Generator:
    net = Generator(**converted.arch_kwargs).eval()
    net.load_state_dict(converted.state_dict, strict=True)
    return net


@pytest.mark.parametrize("case", ["nv_ada_res32_psi07", "nv_ada_res16_cond_psi1"])
def test_nvidia_cases(case):
    c, converted, io = nvidia(case)
    net = net_of(converted)
    with torch.no_grad():
        ws = net.mapping(io["z"], io.get("c"), truncation_psi=c["config"]["truncation_psi"])
        torch.testing.assert_close(ws, io["ws"], **TOL)
        img = net(io["z"], io.get("c"), truncation_psi=c["config"]["truncation_psi"], noise_mode="const")
        torch.testing.assert_close(img, io["img"], **TOL)
        torch.testing.assert_close(net.synthesis(io["ws"], noise_mode="none"), io["img_noise_none"], **TOL)
        if "img_mix" in io:
            torch.testing.assert_close(net.synthesis(io["ws_mix"]), io["img_mix"], **TOL)
    assert sum(t.numel() for t in net.parameters()) == c["config"].get("effective", {}).get("param_count", sum(
        t.numel() for t in net.parameters()))


@pytest.mark.parametrize("case", ["rosi_size32_psi07", "rosi_size16_psi1"])
def test_rosinality_cases(case):
    c = json.loads((CASES / case / "case.json").read_text())
    io = load_file(str(CASES / case / "io.safetensors"))
    obj = torch.load(CASES / case / "checkpoint.pt", weights_only=True)
    converted = fmt.convert(obj, {k: c["config"][k] for k in ROSI_KWARGS})
    assert converted.layout == "rosinality" and converted.arch_kwargs["channels"] == list(c["config"]["channels"].values())
    net = net_of(converted)
    psi = c["config"]["truncation"]
    with torch.no_grad():
        latent = net.mapping(io["z"], None, truncation_psi=psi)
        torch.testing.assert_close(latent, io["latent"], **TOL)
        torch.testing.assert_close(net.synthesis(io["latent"]), io["img"], **TOL)
        if "z2" in io:  # style mixing at inject_index 3
            mix = torch.cat([latent[:, :3], net.mapping(io["z2"], None, truncation_psi=psi)[:, 3:]], 1)
            torch.testing.assert_close(mix, io["latent_mix"], **TOL)
            torch.testing.assert_close(net.synthesis(mix), io["img_mix"], **TOL)
        if "wplus_in" in io:
            torch.testing.assert_close(net.synthesis(io["wplus_in"]), io["img_wplus"], **TOL)
    torch.testing.assert_close(net.w_avg, obj["latent_avg"])


def test_rosinality_without_kernels_or_latent_avg():
    obj = torch.load(CASES / "rosi_size16_psi1" / "checkpoint.pt", weights_only=True)
    full = fmt.convert(obj)
    stripped = {"g_ema": {k: v for k, v in obj["g_ema"].items() if not k.endswith(".kernel")}}
    converted = fmt.convert(stripped)
    assert any("regenerated" in n for n in converted.notes) and any("4096 seeded samples" in n for n in converted.notes)
    for k, v in full.state_dict.items():
        if k != "mapping.w_avg":
            torch.testing.assert_close(converted.state_dict[k], v, atol=0, rtol=0)
    assert not torch.equal(converted.state_dict["mapping.w_avg"], torch.zeros_like(full.state_dict["mapping.w_avg"]))
    bad = {"g_ema": dict(obj["g_ema"]), "latent_avg": obj["latent_avg"]}
    kernel = next(k for k in bad["g_ema"] if k.endswith(".kernel"))
    bad["g_ema"][kernel] = bad["g_ema"][kernel] * 2
    with pytest.raises(CheckpointError, match="is not the \\[1, 3, 3, 1\\] blur kernel"):
        fmt.convert(bad)


def test_nvidia_init_kwargs_layouts_and_contradictions():
    c, converted, io = nvidia("nv_ada_res32_psi07")
    sd = load_file(str(CASES / "nv_ada_res32_psi07" / "G_ema.safetensors"))
    init = c["config"]["init_kwargs"]
    flat = {k: v for k, v in init.items() if k != "synthesis_kwargs"} | init["synthesis_kwargs"]  # stylegan3's layout
    assert fmt.convert(sd, flat).arch_kwargs == converted.arch_kwargs
    sg3_default = {k: v for k, v in flat.items() if k != "conv_clamp"}
    assert fmt.convert(sd, sg3_default).arch_kwargs["conv_clamp"] == 256.0  # the stylegan3 default
    assert fmt.convert(sd, {**init, "synthesis_kwargs": {**init["synthesis_kwargs"], "conv_clamp": 256}}).arch_kwargs["conv_clamp"] == 256.0
    for bad, message in [({**init, "w_dim": 128}, "w_dim=128 contradicts"),
                         ({**init, "synthesis_kwargs": {**init["synthesis_kwargs"], "channel_max": 512}}, "channel_base/channel_max"),
                         ({**init, "mapping_kwargs": {"num_layers": 2}}, "num_layers=2 contradicts"),
                         ({**init, "bogus": 1}, "unknown init_kwargs 'bogus'"),
                         ({**init, "mapping_kwargs": {"activation": "relu"}}, "only 'lrelu'")]:
        with pytest.raises(CheckpointError, match=message):
            fmt.convert(sd, bad)
    bare = fmt.convert(sd)
    assert bare.arch_kwargs["conv_clamp"] is None and any("no init_kwargs" in n for n in bare.notes)


def test_conv_clamp_limits_every_layer():
    torch.manual_seed(0)
    net = Generator(z_dim=8, w_dim=8, img_resolution=8, channels=[8, 8], mapping_layers=1, conv_clamp=0.5).eval()
    with torch.no_grad():
        img = net(torch.randn(2, 8))
    assert img.abs().max() <= 2 * 0.5 + 1e-6  # two ToRGB outputs, each clamped to 0.5


@pytest.mark.parametrize("architecture", ["orig", "resnet"])
def test_other_architectures_build_and_run(architecture):
    torch.manual_seed(1)
    net = Generator(z_dim=8, w_dim=8, img_resolution=16, channels=[8, 8, 4], mapping_layers=1, architecture=architecture).eval()
    keys = set(net.state_dict())
    assert "synthesis.b8.torgb.weight" not in keys and "synthesis.b16.torgb.weight" in keys  # ToRGB only at the end
    assert ("synthesis.b8.skip.weight" in keys) == (architecture == "resnet")
    with torch.no_grad():
        img = net(torch.randn(1, 8))
    assert img.shape == (1, 3, 16, 16) and torch.isfinite(img).all()
    converted = fmt.convert(net.state_dict(), {"z_dim": 8, "w_dim": 8, "img_resolution": 16, "mapping_kwargs": {"num_layers": 1},
                                               "synthesis_kwargs": {"channel_base": 64, "channel_max": 8, "architecture": architecture}})
    assert converted.arch_kwargs["architecture"] == architecture


def test_noise_modes_and_explicit_noise():
    _, converted, io = nvidia("nv_ada_res32_psi07")
    net = net_of(converted)
    ws = io["ws"]
    with torch.no_grad():
        stored = [getattr(getattr(net.synthesis, f"b{r}"), conv).noise_const
                  for r in net.synthesis.block_resolutions for conv in ("conv0", "conv1") if hasattr(getattr(net.synthesis, f"b{r}"), conv)]
        torch.testing.assert_close(net.synthesis(ws, noise_mode="none", noise=stored), io["img"], **TOL)
        torch.manual_seed(5)
        a = net.synthesis(ws, noise_mode="random")
        torch.manual_seed(5)
        assert torch.equal(a, net.synthesis(ws, noise_mode="random")) and not torch.allclose(a, io["img"])
        with pytest.raises(ValueError, match="noise must hold"):
            net.synthesis(ws, noise=stored[:2])
        with pytest.raises(ValueError, match="noise_mode"):
            net.synthesis(ws, noise_mode="loud")


def test_truncation_cutoff():
    _, converted, io = nvidia("nv_ada_res32_psi07")
    net = net_of(converted)
    with torch.no_grad():
        full = net.mapping(io["z"], None)
        cut = net.mapping(io["z"], None, truncation_psi=0.5, truncation_cutoff=3)
    torch.testing.assert_close(cut[:, 3:], full[:, 3:], atol=0, rtol=0)
    torch.testing.assert_close(cut[:, :3], net.w_avg.lerp(full[:, :3], 0.5))


@pytest.mark.parametrize("manifest", sorted((CASES / "manifests").glob("*.json")), ids=lambda p: p.stem)
def test_manifests_match_keys_order_and_shapes(manifest):
    facts = json.loads(manifest.read_text())
    official = {k: torch.empty(shape, device="meta") for k, shape in facts["state_dict"].items()}
    if "init_kwargs" in facts:  # NVIDIA: our keys are theirs, in their order
        converted = fmt.convert(official, facts["init_kwargs"])
        net = meta_net(converted.arch_kwargs)
        assert list(net.state_dict()) == list(facts["state_dict"])
    else:
        kwargs = {k: v for k, v in facts["config"].items() if k in ROSI_KWARGS}
        converted = fmt.convert({"g_ema": official, "latent_avg": torch.empty(512, device="meta")}, kwargs)
        net = meta_net(converted.arch_kwargs)
    assert {k: list(v.shape) for k, v in net.state_dict().items()} == {k: list(v.shape) for k, v in converted.state_dict.items()}
    assert sum(v.numel() for v in net.parameters()) == facts["num_params"]


def test_rosinality_training_checkpoint_with_its_args(tmp_path):
    """train.py saves g, d, g_ema, optimiser states and an argparse.Namespace: g_ema is taken."""
    import argparse

    import zoo

    obj = torch.load(CASES / "rosi_size16_psi1" / "checkpoint.pt", weights_only=True)
    training = {"g": obj["g_ema"], "d": {"convs.0.0.weight": torch.zeros(4, 3, 1, 1)}, "g_ema": obj["g_ema"],
                "g_optim": {"state": {}, "param_groups": [{"lr": 0.002, "betas": (0.0, 0.99)}]}, "d_optim": {"state": {}, "param_groups": []},
                "args": argparse.Namespace(size=16, n_mlp=2, latent=32, channel_multiplier=2), "ada_aug_p": 0.0}
    path = tmp_path / "100000.pt"
    torch.save(training, path)
    gen = zoo.load(path)
    assert gen.task == "generate" and any("4096 seeded samples" in n for n in gen.folder_config["notes"])
    assert any("also holds other networks" in n for n in gen.folder_config["notes"])


def test_gradients_flow_through_the_generator():
    """Projection and training need autograd: the in-place activations keep the graph valid."""
    torch.manual_seed(2)
    net = Generator(z_dim=8, w_dim=8, img_resolution=16, channels=[8, 8, 4], mapping_layers=1, conv_clamp=4.0)
    ws = net.mapping(torch.randn(1, 8), None).detach().requires_grad_(True)
    img = net.synthesis(ws, noise_mode="const")
    img.square().mean().backward()
    assert ws.grad is not None and torch.isfinite(ws.grad).all() and ws.grad.abs().sum() > 0
    assert net.synthesis.b16.conv1.weight.grad.abs().sum() > 0 and net.mapping.fc0.weight.grad is None
    with torch.no_grad():
        torch.testing.assert_close(net.synthesis(ws), img.detach(), atol=0, rtol=0)


OFFICIAL = Path(__file__).resolve().parent / "fixtures" / "stylegan2_official"


@pytest.mark.parametrize("case", sorted(p.name for p in OFFICIAL.iterdir() if p.is_dir() and not p.name.startswith("d_")))
def test_architectures_clamp_conditioning_and_cutoff_match_nvidia(case):
    """resnet / orig synthesis, conv_clamp, c_dim and truncation cutoff against NVIDIA's outputs
    (tests/fixtures/stylegan2_official/README.md)."""
    folder = OFFICIAL / case
    init = json.loads((folder / "init_kwargs.json").read_text())
    call = json.loads((folder / "call.json").read_text())
    io = load_file(str(folder / "io.safetensors"))
    net = net_of(fmt.convert(load_file(str(folder / "G_ema.safetensors")), init))
    assert net.synthesis.b8.conv1.conv_clamp == init["synthesis_kwargs"]["conv_clamp"]
    with torch.no_grad():
        ws = net.mapping(io["z"], io.get("c"), truncation_psi=call["truncation_psi"], truncation_cutoff=call["truncation_cutoff"])
        torch.testing.assert_close(ws, io["ws"], **TOL)
        torch.testing.assert_close(net.synthesis(io["ws"]), io["img"], **TOL)
        torch.testing.assert_close(net.synthesis(io["ws"], noise_mode="none"), io["img_noise_none"], **TOL)


@pytest.mark.parametrize("case", sorted(p.name for p in OFFICIAL.iterdir() if p.name.startswith("d_")))
def test_discriminators_match_nvidia(case):
    from zoo.archs.stylegan2 import Discriminator

    folder = OFFICIAL / case
    sd = load_file(str(folder / "D.safetensors"))
    converted = fmt.convert_nvidia_discriminator(sd, json.loads((folder / "init_kwargs.json").read_text()))
    net = Discriminator(**converted.arch_kwargs).eval()
    net.load_state_dict(converted.state_dict, strict=True)  # (safetensors sorts keys, so the order is not compared here)
    io = load_file(str(folder / "io.safetensors"))
    with torch.no_grad():
        torch.testing.assert_close(net(io["img"], io.get("c")), io["logits"], **TOL)


@pytest.mark.parametrize("architecture, conv_clamp, c_dim", [("skip", None, 0), ("orig", 0.4, 0), ("resnet", None, 3)])
def test_the_fast_route_equals_the_plain_forward_in_every_noise_mode(architecture, conv_clamp, c_dim, fast_path_calls):
    """Batch 3, const / none / random noise (the same random stream) and per-sample explicit noise."""
    from zoo.archs import fast_path

    torch.manual_seed(2)
    net = Generator(z_dim=8, w_dim=8, c_dim=c_dim, img_resolution=32, channels=[16, 16, 8, 8], mapping_layers=2,
                    architecture=architecture, conv_clamp=conv_clamp).eval()
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.5)  # stored strengths start at 0, which would hide the noise
        ws = net.mapping(torch.randn(3, 8), torch.eye(3) if c_dim else None)
        noise = [torch.randn(3, 1, r, r) for r in (4, 8, 8, 16, 16, 32, 32)]
    for kwargs in ({"noise_mode": "const"}, {"noise_mode": "none"}, {"noise_mode": "random"}, {"noise": noise}):
        with torch.no_grad():
            torch.manual_seed(9)
            fast = net.synthesis(ws, **kwargs)
            with fast_path.plain():
                torch.manual_seed(9)
                plain = net.synthesis(ws, **kwargs)
        torch.testing.assert_close(fast, plain, atol=2e-5, rtol=1e-5)
        assert fast.is_contiguous() and fast.shape == (3, 3, 32, 32)
    assert fast_path_calls == ["SynthesisNetwork"] * 4
    with torch.no_grad():
        assert not torch.allclose(net.synthesis(ws, noise=noise), net.synthesis(ws, noise_mode="none"), atol=1e-3)
