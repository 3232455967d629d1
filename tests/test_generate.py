"""StyleGAN2 end to end: NVIDIA pickles read without running code, the generate task, CLI and app."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

import zoo
from conftest import PARITY
from support import persistence
from support.hostile import CodePayload
from zoo import cli
from zoo.errors import CheckpointError, IntegrityError, UnsafeCheckpointError, ZooError
from zoo.formats import nvidia_pickle
from zoo.formats import stylegan2 as fmt
from zoo.registry import ModelInfo, UrlSource
from zoo.tasks.options import GenerateOptions

CASE = PARITY / "stylegan2" / "nv_ada_res32_psi07"
COND = PARITY / "stylegan2" / "nv_ada_res16_cond_psi1"


def generator_of(case: Path):
    from zoo.archs.stylegan2 import Generator

    init = json.loads((case / "init_kwargs.json").read_text())
    converted = fmt.convert(load_file(str(case / "G_ema.safetensors")), init)
    net = Generator(**converted.arch_kwargs).eval()
    net.load_state_dict(converted.state_dict)
    return net, init


def tiny_entry(name: str, url: str = "https://example.invalid/tiny.pkl", **kwargs) -> ModelInfo:
    """A registry entry for the 32 px parity generator (its weights come from a test's pickle)."""
    return ModelInfo(name=name, family="stylegan2", task="generate", title="tiny", description="test",
                     licence="LicenseRef-NVIDIA-Source-Code-License", sources=(UrlSource(url),), card="stylegan2-ffhq.md",
                     arch="stylegan2", options=GenerateOptions(resolution=32, dataset="test"), **kwargs)


@pytest.fixture
def gen_tab():
    """The Generate tab's module, with its model cache empty before and after (other tests count on that)."""
    from zoo.app import generate as tab
    from zoo.app.models import MODELS

    MODELS.clear()
    yield tab
    MODELS.clear()


@pytest.fixture
def pkl(tmp_path) -> Path:
    net, init = generator_of(CASE)
    return persistence.write(tmp_path / "network-snapshot.pkl", net, init)


# -- NVIDIA persistence pickles -----------------------------------------------------------------


@pytest.mark.parametrize("protocol", [2, 3, 4])
def test_persistence_pickle_loads_g_ema_with_its_init_kwargs(tmp_path, protocol):
    net, init = generator_of(CASE)
    path = persistence.write(tmp_path / "g.pkl", net, init, protocol=protocol)
    loaded = zoo.load(path)
    assert loaded.task == "generate" and loaded.folder_config["converted_from"] == "nvidia-pickle"
    io = load_file(str(CASE / "io.safetensors"))
    with torch.no_grad():
        torch.testing.assert_close(loaded.net(io["z"], None, truncation_psi=0.7), io["img"], atol=1e-4, rtol=1e-4)
    clamp = {**init, "synthesis_kwargs": {**init["synthesis_kwargs"], "conv_clamp": 2.0}}
    path = persistence.write(tmp_path / "clamped.pkl", net, clamp, protocol=protocol)
    assert zoo.load(path).folder_config["arch_kwargs"]["conv_clamp"] == 2.0  # init_kwargs carry what tensors cannot show


def test_module_src_is_never_run_and_foreign_globals_are_refused(tmp_path, capsys):
    net, init = generator_of(CASE)
    marker = tmp_path / "code-ran"
    path = persistence.write(tmp_path / "src.pkl", net, init, module_src=f"import os\nos.system('touch {marker}')\n")
    assert zoo.load(path).task == "generate" and not marker.exists()  # module_src is text, never executed
    for reduce, what in [((__import__("os").system, (f"touch {marker}",)), "posix.system"),
                         ((eval, (f"open('{marker}', 'w')",)), "builtins.eval")]:
        evil = persistence.write(tmp_path / "evil.pkl", net, init, extra_state={"hidden": persistence._Extra(reduce)})
        with pytest.raises(UnsafeCheckpointError, match=f"asks for {what}, which could run code"):
            zoo.load(evil)
        assert cli.main(["import", str(evil), "--out", str(tmp_path / "out")]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "could run code" in err
    evil = persistence.write(tmp_path / "payload.pkl", net, init, extra_state={"hidden": CodePayload(marker)})
    with pytest.raises(UnsafeCheckpointError):
        zoo.load(evil)
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_the_discriminator_is_recovered_from_a_pickle(tmp_path):
    from zoo.archs.stylegan2 import Discriminator

    folder = PARITY.parent / "stylegan2_official" / "d_resnet_res32"
    init = json.loads((folder / "init_kwargs.json").read_text())
    converted = fmt.convert_nvidia_discriminator(load_file(str(folder / "D.safetensors")), init)
    d = Discriminator(**converted.arch_kwargs).eval()
    d.load_state_dict(converted.state_dict)
    net, g_init = generator_of(CASE)
    path = persistence.write(tmp_path / "gd.pkl", net, g_init, top={"D": persistence.record(d, init_kwargs=init)})
    recovered = nvidia_pickle.read_discriminator(path)
    assert recovered.arch == "stylegan2_d" and recovered.arch_kwargs == converted.arch_kwargs
    io = load_file(str(folder / "io.safetensors"))
    d2 = Discriminator(**recovered.arch_kwargs).eval()
    d2.load_state_dict(recovered.state_dict)
    with torch.no_grad():
        torch.testing.assert_close(d2(io["img"]), io["logits"], atol=1e-4, rtol=1e-4)
    assert zoo.load(path).task == "generate"  # the pickle itself still loads as its generator
    with pytest.raises(CheckpointError, match="holds no discriminator"):
        nvidia_pickle.read_discriminator(persistence.write(tmp_path / "g.pkl", net, g_init))


def test_other_kinds_of_pickle_are_named(tmp_path):
    net, init = generator_of(CASE)
    sg3 = persistence.write(tmp_path / "sg3.pkl", net, init, module_src="class SynthesisInput: pass  # uses filtered_lrelu\n")
    with pytest.raises(CheckpointError, match="StyleGAN3 .* which gan-zoo does not support"):
        zoo.load(sg3)
    tf = tmp_path / "tf.pkl"  # what a TensorFlow-era pickle starts with: a dnnlib.tflib Network object
    tf.write_bytes(b"\x80\x02cdnnlib.tflib.network\nNetwork\n)\x81.")
    with pytest.raises(CheckpointError, match="TensorFlow-era StyleGAN pickle"):
        zoo.load(tf)
    nog = persistence.write(tmp_path / "nog.pkl", net, init, top={"G_ema": None})
    with pytest.raises(CheckpointError, match="without a G_ema network"):
        zoo.load(nog)
    broken = tmp_path / "broken.pkl"
    broken.write_bytes((tmp_path / "sg3.pkl").read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="damaged NVIDIA pickle"):
        zoo.load(broken)


def test_a_pickle_entry_downloads_converts_and_pins(online, fresh_cache, file_server, temp_entries, pkl):
    file_server.add("pretrained/tiny.pkl", pkl.read_bytes())
    net, init = generator_of(CASE)
    info = temp_entries(tiny_entry("tiny-sg2", file_server.url_for("pretrained/tiny.pkl"),
                                   arch_kwargs={"img_resolution": 32, "channels": [64, 64, 32, 16]}))
    generator = zoo.load("tiny-sg2")
    assert generator(3).size == (32, 32)
    from zoo import cache

    assert json.loads(cache.pin_path(info, info.sources[0]).read_text())["size"] == pkl.stat().st_size


# -- the task ----------------------------------------------------------------------------------


def test_seeds_are_nvidias_and_bit_for_bit(pkl):
    gen = zoo.load(pkl)
    z = gen.z(7)
    assert torch.equal(z, torch.from_numpy(np.random.RandomState(7).randn(1, gen.z_dim)).float())
    a, b = gen(7, psi=0.7), gen(7, psi=0.7)
    assert np.array_equal(np.asarray(a), np.asarray(b)) and a.mode == "RGB" and a.size == (32, 32)
    with torch.no_grad():
        img = gen.net(z, None, truncation_psi=0.7)
    expected = (img[0].permute(1, 2, 0) * 127.5 + 128).clamp(0, 255).to(torch.uint8).numpy()
    assert np.array_equal(np.asarray(a), expected)
    assert not np.array_equal(np.asarray(gen(8)), np.asarray(gen(7)))
    r1, r2 = gen(7, noise_mode="random"), gen(7, noise_mode="random")
    assert np.array_equal(np.asarray(r1), np.asarray(r2)) and not np.array_equal(np.asarray(r1), np.asarray(gen(7)))


def test_truncation_cutoff_and_style_mixing(pkl):
    gen = zoo.load(pkl)
    full, mixed = gen.ws(1), gen.ws(1, mix_seed=2, mix_layer=3)
    torch.testing.assert_close(mixed[:, :3], full[:, :3], atol=0, rtol=0)
    torch.testing.assert_close(mixed[:, 3:], gen.ws(2)[:, 3:], atol=0, rtol=0)
    cut = gen.ws(1, psi=0.0, cutoff=2)
    torch.testing.assert_close(cut[:, :2], gen.net.w_avg.expand(1, 2, -1), atol=1e-6, rtol=0)
    torch.testing.assert_close(cut[:, 2:], full[:, 2:], atol=0, rtol=0)
    assert gen.render(mixed).size == (32, 32)


def test_conditional_generators_need_a_class():
    net, init = generator_of(COND)
    from zoo.tasks.generate import ImageGenerator
    from zoo.loading import file_info

    gen = ImageGenerator(net, file_info(COND / "G_ema.safetensors", "stylegan2"), {"family": "stylegan2", "arch": "stylegan2"})
    a, b = gen(0, class_index=0), gen(0, class_index=3)
    assert not np.array_equal(np.asarray(a), np.asarray(b))
    for kwargs, message in [({}, "conditional: give a class from 0 to 3"), ({"class_index": 4}, "from 0 to 3")]:
        with pytest.raises(ZooError, match=message):
            gen(0, **kwargs)


@pytest.mark.parametrize("kwargs, message", [
    ({"seed": -1}, "a seed is an integer"), ({"seed": 2**32}, "a seed is an integer"), ({"seed": 1.5}, "a seed is an integer"),
    ({"psi": 3.0}, "psi must be in"), ({"cutoff": 0}, "cutoff must be"), ({"cutoff": 99}, "cutoff must be"),
    ({"noise_mode": "loud"}, "noise mode must be"), ({"class_index": 1}, "unconditional"),
    ({"mix_seed": 2}, "crossover layer"), ({"mix_seed": 2, "mix_layer": 8}, "crossover layer"),
])
def test_bad_settings_are_one_line(pkl, kwargs, message):
    gen = zoo.load(pkl)
    seed = kwargs.pop("seed", 0)
    with pytest.raises(ZooError, match=message):
        gen(seed, **kwargs)


# -- CLI and app --------------------------------------------------------------------------------


def test_cli_generate(pkl, tmp_path, capsys):
    out = tmp_path / "one.png"
    assert cli.main(["generate", str(out), "--model", str(pkl), "--seed", "5", "--psi", "0.7"]) == 0
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(zoo.load(pkl)(5, psi=0.7)))
    folder = tmp_path / "many"
    assert cli.main(["generate", str(folder), "--model", str(pkl), "--seed", "1", "2", "--mix-seed", "9", "--mix-layer", "4"]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["seed0001.png", "seed0002.png"]
    capsys.readouterr()
    for args, message in [(["--psi", "9"], "psi must be in"), (["--mix-seed", "3"], "needs both --mix-seed and --mix-layer"),
                          (["--class", "2"], "unconditional"), (["--model", "nope-model"], "unknown model")]:
        assert cli.main(["generate", str(tmp_path / "bad.png"), "--model", str(pkl), *args]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err and not (tmp_path / "bad.png").exists()
    upscaler = PARITY / "esrgan" / "realesr_srvgg_x4_prelu_f16_c4" / "checkpoint.pth"
    assert cli.main(["generate", str(tmp_path / "x.png"), "--model", str(upscaler)]) == 1
    assert "not an image generator" in capsys.readouterr().err


def test_app_generate_function(pkl, temp_entries, fresh_cache, monkeypatch, gen_tab):
    import gradio as gr

    from zoo import importing

    temp_entries(tiny_entry("tiny-tab"))
    importing.import_file(pkl, name="tiny-tab")
    path = gen_tab.generate("tiny-tab", seed=4, psi=0.7, cutoff=0, noise_mode="const", class_index=0, mix_seed=-1, mix_layer=0)
    assert Path(path).name == "tiny-tab-seed4-psi0.7.png"
    image = Image.open(path)
    assert np.array_equal(np.asarray(image), np.asarray(zoo.load(pkl)(4, psi=0.7)))
    with pytest.raises(gr.Error, match="Seed must be a whole number"):
        gen_tab.generate("tiny-tab", seed=1.5)
    with pytest.raises(gr.Error, match="is not on this server yet"):
        gen_tab.generate("stylegan2-ffhq")
    assert "tiny" in gen_tab.details_text("tiny-tab")


# -- latent directions --------------------------------------------------------------------------


def test_sefa_directions_are_the_eigenvectors_of_the_normalised_style_weights(pkl, fresh_cache):
    gen = zoo.load(pkl)
    found = gen.directions("sefa", 4)
    a = torch.cat([m.affine.weight.detach() for m in gen.net.synthesis.modules() if hasattr(m, "affine")]).t().double()
    a = a / a.norm(dim=0, keepdim=True)
    m = a @ a.t()
    values = torch.linalg.eigvalsh(m).flip(0)
    for i, d in enumerate(found):
        v = d.vector.double()
        torch.testing.assert_close(m @ v, values[i] * v, atol=1e-4, rtol=1e-4)  # an eigenvector, in decreasing order
        assert abs(v.norm().item() - 1) < 1e-5 and d.scale == 1.0 and d.name == f"sefa{i}"
    gram = torch.stack([d.vector for d in found]) @ torch.stack([d.vector for d in found]).t()
    torch.testing.assert_close(gram, torch.eye(4), atol=1e-5, rtol=0)


def test_ganspace_components_order_by_variance_and_are_cached(pkl, fresh_cache, monkeypatch):
    from zoo.tasks import directions

    gen = zoo.load(pkl)
    found = gen.directions("ganspace", 3)
    scales = [d.scale for d in found]
    assert scales == sorted(scales, reverse=True) and scales[0] > 0
    gram = torch.stack([d.vector for d in found]) @ torch.stack([d.vector for d in found]).t()
    torch.testing.assert_close(gram, torch.eye(3), atol=1e-5, rtol=0)
    cached = list((fresh_cache / "directions").rglob("ganspace-16.safetensors"))
    assert len(cached) == 1 and cached[0].parent.name == gen.weights_key()[:16]

    def not_again(*args, **kwargs):
        raise AssertionError("cached directions must not be computed again")

    monkeypatch.setattr(directions, "ganspace", not_again)
    again = zoo.load(pkl).directions("ganspace", 3)
    assert all(torch.equal(a.vector, b.vector) and a.scale == b.scale for a, b in zip(found, again))


def test_edits_move_only_the_chosen_layers(pkl, fresh_cache):
    gen = zoo.load(pkl)
    ws = gen.ws(3)
    moved = gen.edit(ws, {"sefa0": 2.0, "ganspace1": -1.0}, (2, 5))
    torch.testing.assert_close(moved[:, :2], ws[:, :2], atol=0, rtol=0)
    torch.testing.assert_close(moved[:, 5:], ws[:, 5:], atol=0, rtol=0)
    expected = ws[:, 2:5] + 2.0 * gen.direction("sefa0").vector - gen.direction("ganspace1").scale * gen.direction("ganspace1").vector
    torch.testing.assert_close(moved[:, 2:5], expected, atol=1e-6, rtol=0)
    assert np.array_equal(np.asarray(gen(3, edits={"sefa0": 0.0})), np.asarray(gen(3)))
    assert not np.array_equal(np.asarray(gen(3, edits={"sefa0": 3.0})), np.asarray(gen(3)))
    strip = gen.preview("sefa0", 3, size=16)
    assert len(strip) == 5 and all(im.size == (16, 16) for im in strip)
    assert np.array_equal(np.asarray(strip[2]), np.asarray(gen(3, psi=0.7).resize((16, 16), Image.LANCZOS)))


def test_named_directions_from_npy(pkl, fresh_cache, tmp_path, capsys):
    gen = zoo.load(pkl)
    vec = np.random.RandomState(0).randn(1, gen.net.w_dim)
    np.save(tmp_path / "smile.npy", vec)
    assert gen.add_directions([tmp_path / "smile.npy"]) == ["smile"]
    torch.testing.assert_close(gen.direction("smile").vector, torch.from_numpy(vec[0] / np.linalg.norm(vec)).float())
    np.save(tmp_path / "short.npy", np.ones(3))
    np.save(tmp_path / "objects.npy", np.array([object()], dtype=object), allow_pickle=True)
    for name, message in [("short.npy", "expected 64 finite numbers"), ("objects.npy", "not a readable .npy")]:
        with pytest.raises(ZooError, match=message):
            gen.add_directions([tmp_path / name])
    out = tmp_path / "edited.png"
    assert cli.main(["generate", str(out), "--model", str(pkl), "--seed", "2", "--direction-file", str(tmp_path / "smile.npy"),
                     "--edit", "smile=2", "--edit", "sefa1=-1", "--edit-layers", "0:4"]) == 0
    want = gen(2, edits={"smile": 2.0, "sefa1": -1.0}, edit_layers=(0, 4))
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(want))
    capsys.readouterr()
    for args, message in [(["--edit", "frown=1"], "unknown direction 'frown'"), (["--edit", "sefa0"], "NAME=AMOUNT"),
                          (["--edit", "sefa0=99"], "amounts must be in"), (["--edit", "sefa0=1", "--edit-layers", "5:2"], "edited layers"),
                          (["--edit", "sefa99=1"], "unknown direction")]:
        assert cli.main(["generate", str(tmp_path / "bad.png"), "--model", str(pkl), *args]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err and not (tmp_path / "bad.png").exists()


def test_app_sliders_and_preview(pkl, temp_entries, fresh_cache, gen_tab):
    from zoo import importing

    temp_entries(tiny_entry("tiny-sliders"))
    importing.import_file(pkl, name="tiny-sliders")
    image = Image.open(gen_tab.generate("tiny-sliders", seed=1, method="ganspace", d0=1.5, d3=-2.0, edit_first=1, edit_last=99))
    gen = zoo.load("tiny-sliders")
    want = gen(1, edits={"ganspace0": 1.5, "ganspace3": -2.0}, edit_layers=(1, gen.num_ws))
    assert np.array_equal(np.asarray(image), np.asarray(want))
    strip = gen_tab.preview("tiny-sliders", "sefa", 2, 1)
    assert len(strip) == 5 and np.array_equal(np.asarray(strip[0]), np.asarray(gen.preview("sefa2", 1)[0]))


# -- projection ---------------------------------------------------------------------------------


def test_schedule_is_the_official_one():
    from zoo.tasks.project import learning_rate

    assert learning_rate(0.0) == 0.0 and abs(learning_rate(0.025) - 0.05) < 1e-12  # 5 % linear ramp-up
    assert learning_rate(0.5) == pytest.approx(0.1) and learning_rate(0.75) == pytest.approx(0.1)
    assert learning_rate(0.875) == pytest.approx(0.05)  # half-way down the cosine ramp of the last 25 %


def known_d():
    from zoo.archs.stylegan2 import Discriminator

    folder = PARITY.parent / "stylegan2_official" / "d_resnet_res32"
    converted = fmt.convert_nvidia_discriminator(load_file(str(folder / "D.safetensors")), json.loads((folder / "init_kwargs.json").read_text()))
    d = Discriminator(**converted.arch_kwargs).eval()
    d.load_state_dict(converted.state_dict)
    return d


@pytest.mark.parametrize("space, use_d", [("w", False), ("w+", True)])
def test_projection_of_a_generated_image_gets_close(pkl, space, use_d):
    """Known latents: the generator's own image of seed 5 is the target."""
    gen = zoo.load(pkl)
    target = gen(5, psi=0.7)
    seen = []
    result = gen.project(target, steps=100, space=space, discriminator=known_d() if use_d else None,
                         progress=lambda done, total, dist: seen.append((done, total)))
    assert result.distance == ("discriminator" if use_d else "mse") and seen[-1] == (100, 100)
    assert result.ws.shape == (1, gen.num_ws, gen.net.w_dim) and len(result.noise) == gen.net.synthesis.num_layers
    assert result.losses[-1] < 0.25 * result.losses[0]
    if space == "w":
        torch.testing.assert_close(result.ws, result.ws[:, :1].expand_as(result.ws), atol=0, rtol=0)
    for n in result.noise:  # renormalised every step
        assert abs(n.mean().item()) < 1e-4 and abs(n.square().mean().item() - 1) < 1e-3
    truth = torch.from_numpy(np.asarray(target, dtype=np.float32)).permute(2, 0, 1)[None] / 127.5 - 1
    with torch.no_grad():  # the clamped images' distance to the target: the projection's start (mean W) vs its end
        start = gen.net.synthesis(gen.net.w_avg.expand(1, gen.num_ws, -1).clone()).clamp(-1, 1)
        end = gen.net.synthesis(result.ws, noise=result.noise).clamp(-1, 1)
    assert (end - truth).square().mean() < 0.7 * (start - truth).square().mean()
    assert gen.render(gen.edit(result.ws, {"sefa0": 1.0})).size == target.size  # the same sliders edit it
    again = gen.project(target, steps=100, space=space, discriminator=known_d() if use_d else None)
    assert torch.equal(again.ws, result.ws), "seeded: the same result twice"


def test_the_cli_offers_the_projection_distances():
    from zoo.tasks.project import DISTANCES

    assert cli.PROJECT_DISTANCES == DISTANCES  # the CLI spells them without importing torch


def test_project_bad_input(pkl, tmp_path, capsys):
    gen = zoo.load(pkl)
    for kwargs, message in [({"space": "z"}, "space must be"), ({"distance": "lpips"}, "needs torchvision.s VGG16 weights"), ({"distance": "vgg"}, "distance must be one of"),
                            ({"steps": 0}, "steps must be"), ({"distance": "discriminator"}, "needs the model's discriminator")]:
        with pytest.raises(ZooError, match=message):
            gen.project(gen(1), **kwargs)
    with pytest.raises(ZooError, match="needs at least 16 pixels"):
        gen.project(Image.new("RGB", (10, 40)))
    photo = tmp_path / "photo.png"
    Image.new("RGB", (40, 30), (200, 100, 50)).save(photo)
    for args, message in [([str(tmp_path / "x.png")], "must be an .npz"), ([str(tmp_path / "p.npz"), "--steps", "0"], "steps must be")]:
        assert cli.main(["project", str(photo), *args, "--model", str(pkl), "--quiet"]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err
    assert not list(tmp_path.glob("*.npz")) and not (tmp_path / "p.png").exists()


def test_cli_project_writes_latent_and_image(pkl, tmp_path, capsys):
    gen = zoo.load(pkl)
    photo = tmp_path / "photo.png"
    gen(9).save(photo)
    assert cli.main(["project", str(photo), str(tmp_path / "me.npz"), "--model", str(pkl), "--steps", "20", "--quiet", "--space", "w+"]) == 0
    data = np.load(tmp_path / "me.npz")
    assert data["w"].shape == (1, gen.num_ws, gen.net.w_dim) and str(data["distance"]) == "mse" and len(data["losses"]) == 20
    noise = [torch.from_numpy(data[f"noise{i}"]) for i in range(gen.net.synthesis.num_layers)]
    assert np.array_equal(np.asarray(Image.open(tmp_path / "me.png")), np.asarray(gen.render(torch.from_numpy(data["w"]), noise=noise)))
    assert "distance mse" in capsys.readouterr().out


def test_app_projects_a_photo_and_the_sliders_edit_it(pkl, temp_entries, fresh_cache, gen_tab):
    import gradio as gr

    from zoo import importing

    temp_entries(tiny_entry("tiny-project"))
    importing.import_file(pkl, name="tiny-project")
    gen = zoo.load("tiny-project")
    photo = gen(5, psi=0.7)
    image_path, state, summary = gen_tab.project_photo(photo, "tiny-project", steps=20, space="w+")
    image = Image.open(image_path)
    assert image.size == photo.size and state["ws"].shape == (1, gen.num_ws, gen.net.w_dim) and "distance: mse" in summary
    direct = gen.project(photo, steps=20, space="w+")
    assert torch.equal(state["ws"], direct.ws)
    edited = Image.open(gen_tab.generate("tiny-project", d0=2.0, projected=state))
    want = gen.render(gen.edit(direct.ws, {"sefa0": 2.0}, (0, gen.num_ws)), noise=direct.noise)
    assert np.array_equal(np.asarray(edited), np.asarray(want))
    seed_image = Image.open(gen_tab.generate("tiny-project", seed=3, projected={**state, "model": "another-model"}))
    assert np.array_equal(np.asarray(seed_image), np.asarray(gen(3)))  # a projection belongs to its own model
    with pytest.raises(gr.Error, match="Upload a photo"):
        gen_tab.project_photo(None, "tiny-project")
    with pytest.raises(gr.Error, match="needs at least 16 pixels"):
        gen_tab.project_photo(Image.new("RGB", (8, 8)), "tiny-project")


def test_directions_are_read_once_per_generator(pkl, fresh_cache, monkeypatch):
    """Slider moves and previews reuse the directions: no cache read or computation per edit."""
    from zoo.tasks import directions

    gen = zoo.load(pkl)
    gen.directions("sefa")

    def not_again(*args, **kwargs):
        raise AssertionError("directions must be read once per generator")

    monkeypatch.setattr(directions, "computed", not_again)
    assert len(gen.preview("sefa1", 2, size=16)) == 5 and gen(2, edits={"sefa0": 1.0}).size == (32, 32)


# -- the networks projection measures with: the model's own D, LPIPS-VGG -------------------------------


def pickle_with_d(tmp_path: Path) -> tuple[Path, torch.nn.Module]:
    d = known_d()
    net, g_init = generator_of(CASE)
    init = json.loads((PARITY.parent / "stylegan2_official" / "d_resnet_res32" / "init_kwargs.json").read_text())
    return persistence.write(tmp_path / "gd.pkl", net, g_init, top={"D": persistence.record(d, init_kwargs=init)}), d


def test_the_discriminator_is_kept_beside_a_converted_model_and_projection_uses_it(tmp_path, temp_entries, fresh_cache, gen_tab, capsys):
    from zoo import importing

    path, d = pickle_with_d(tmp_path)
    temp_entries(tiny_entry("tiny-with-d"))
    folder, _ = importing.import_file(path, name="tiny-with-d")
    config = json.loads((folder / "config.json").read_text())
    part = config["companions"]["discriminator"]
    assert part["arch"] == "stylegan2_d" and part["file"] == "discriminator.safetensors" and (folder / part["file"]).is_file()
    assert any("D was kept" in n for n in config["notes"])
    gen = zoo.load("tiny-with-d")
    kept = gen.companion("discriminator")
    img = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(kept(img), d(img), atol=0, rtol=0)
    assert gen.project(gen(5), steps=3).distance == "discriminator"  # "auto" takes it
    assert gen.project(gen(5), steps=3, distance="mse").distance == "mse"
    assert zoo.load(path).project(gen(5), steps=2).distance == "discriminator"  # straight from the pickle too
    photo = tmp_path / "photo.png"
    gen(9).save(photo)
    assert cli.main(["project", str(photo), str(tmp_path / "me.npz"), "--model", "tiny-with-d", "--steps", "2", "--quiet"]) == 0
    assert str(np.load(tmp_path / "me.npz")["distance"]) == "discriminator"
    _, _, summary = gen_tab.project_photo(gen(5), "tiny-with-d", steps=2)
    assert "distance: discriminator" in summary

    raw = bytearray((folder / part["file"]).read_bytes())
    raw[-7] ^= 0xFF  # a changed weight
    (folder / part["file"]).write_bytes(bytes(raw))
    with pytest.raises(IntegrityError, match="has changed since it was converted"):
        zoo.load("tiny-with-d").companion("discriminator")


def test_without_a_discriminator_auto_projection_measures_pixels(pkl):
    gen = zoo.load(pkl)
    assert gen.companion("discriminator") is None
    assert gen.project(gen(5), steps=2).distance == "mse"


def lpips_folder(folder: Path) -> Path:
    from test_lpips import torchvision_vgg16_state_dict

    from zoo.converted import write_converted
    from zoo.formats import lpips as lpips_format

    converted = lpips_format.convert(torchvision_vgg16_state_dict())
    return write_converted(folder, converted, name="lpips-vgg16", task="measure", provenance={}, card=None)


def test_lpips_is_the_projection_distance_once_its_weights_are_here(pkl, fresh_cache):
    from zoo.cache import imported_dir

    gen = zoo.load(pkl)
    assert gen.companion("lpips") is None  # not imported: nothing is downloaded
    lpips_folder(imported_dir(zoo.info("lpips-vgg16")))  # where `zoo import vgg16-397923af.pth` puts it
    perceptual = gen.companion("lpips")
    assert perceptual is not None and perceptual.task == "measure"
    target = gen(5, psi=0.7)
    result = gen.project(target, steps=30)
    assert result.distance == "lpips" and result.losses[-1] < result.losses[0]
    truth = torch.from_numpy(np.asarray(target, dtype=np.float32)).permute(2, 0, 1)[None] / 127.5 - 1
    with torch.no_grad():  # in LPIPS, the projection ends nearer the target than its start (the mean W)
        start = perceptual.distance(gen.net.synthesis(gen.net.w_avg.expand(1, gen.num_ws, -1).clone(), noise=result.noise), truth)
        end = perceptual.distance(gen.net.synthesis(result.ws, noise=result.noise), truth)
    assert float(end) < float(start)
    assert gen.project(target, steps=2, distance="mse").distance == "mse"
