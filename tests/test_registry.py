"""The registry: entries are complete and consistent, lookups fail clearly, ``import zoo`` stays light."""

from __future__ import annotations

import re
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

import zoo
from zoo.families import family
from zoo.tasks.options import GenerateOptions, InpaintOptions, MeasureOptions, UpscaleOptions
from zoo.cards import card_metadata, read_card
from zoo.errors import UnknownModelError
from zoo.catalog.bundled import is_demo
from zoo.registry import DIRECTION_NAMES, BundledSource, HubSource, ManualSource, PackagedSource, UrlSource

REQUIRED_ESRGAN = {
    "realesrgan-x4plus",
    "realesrgan-x2plus",
    "realesrnet-x4plus",
    "realesrgan-x4plus-anime-6b",
    "realesr-general-x4v3",
    "realesr-animevideov3",
    "esrgan-x4",
    "realsr-df2k-x4",
}
REQUIRED_TRANSLATE = {
    # entry: official names of its directions, AtoB first
    "pix2pix-edges2shoes": ("edges2shoes",),
    "pix2pix-sat2map": ("sat2map", "map2sat"),
    "pix2pix-facades": ("facades_label2photo",),
    "pix2pix-day2night": ("day2night",),
    "cyclegan-horse2zebra": ("horse2zebra", "zebra2horse"),
    "cyclegan-apple2orange": ("apple2orange", "orange2apple"),
    "cyclegan-summer2winter-yosemite": ("summer2winter_yosemite", "winter2summer_yosemite"),
    "cyclegan-monet2photo": ("monet2photo", "style_monet"),
    "cyclegan-style-cezanne": ("style_cezanne",),
    "cyclegan-style-ukiyoe": ("style_ukiyoe",),
    "cyclegan-style-vangogh": ("style_vangogh",),
    "cyclegan-sat2map": ("sat2map", "map2sat"),
    "cyclegan-cityscapes": ("cityscapes_photo2label", "cityscapes_label2photo"),
    "cyclegan-facades": ("facades_photo2label", "facades_label2photo"),
    "cyclegan-iphone2dslr-flower": ("iphone2dslr_flower",),
}
# Interpolation partners come in pairs, each naming the other, except these: realesrnet-x4plus
# blends toward realesrgan-x4plus (its GAN fine-tune), whose own partner is realsr-df2k-x4 (offline).
ONE_WAY_PARTNERS = {"realesrnet-x4plus": "realesrgan-x4plus"}
OPEN_OTHER = {"GPL-2.0-or-later"}  # "other" on the Hub, but no use restriction
PIPELINE_TAGS = {"generate": "unconditional-image-generation", "translate": "image-to-image", "inpaint": "image-to-image"}
HF_LICENCE = {"BSD-3-Clause": "bsd-3-clause", "BSD-2-Clause": "bsd-2-clause", "Apache-2.0": "apache-2.0", "MIT": "mit",
              "LicenseRef-NVIDIA-Source-Code-License": "other", "BSD-3-Clause AND BSD-2-Clause": "other",
              "CC-BY-NC-4.0": "cc-by-nc-4.0", "GPL-2.0-or-later": "other"}  # the Hub's "other" + license_name

# junyanz/pytorch-CycleGAN-and-pix2pix publishes its generators only on the authors' Berkeley
# server, and its download scripts fetch them over plain http: there is no https location or
# mirror published upstream. http is therefore accepted for exactly this host (and these folders);
# with no published checksum, gan-zoo records the sha256 of the first download instead.
JUNYANZ_HOST = "efrosgans.eecs.berkeley.edu"
JUNYANZ_FOLDER = {"pix2pix": "/pix2pix/models-pytorch/", "cyclegan": "/cyclegan/pretrained_models/"}
TEST_MODE = {"pix2pix": "official", "cyclegan": "eval"}
PARAMS = {"unet": 54_413_955, "resnet": 11_378_179}  # per generator, as the cards state


def all_sources(info):
    """The entry's own sources and every direction's (for translate entries they overlap)."""
    return list(info.sources) + [s for d in info.directions for s in d.sources]


def check_url(url: str, family: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "http":
        assert parts.netloc == JUNYANZ_HOST, f"http is only accepted for the junyanz release server: {url}"
        assert family in JUNYANZ_FOLDER and parts.path.startswith(JUNYANZ_FOLDER[family]), url
    else:
        assert parts.scheme == "https", url


def test_required_esrgan_entries_exist():
    names = {m.name for m in zoo.list_models(family="esrgan")}
    assert REQUIRED_ESRGAN <= names


def test_required_translate_entries_exist():
    translate = {m.name: m for m in zoo.list_models(task="translate")}
    assert set(REQUIRED_TRANSLATE) <= set(translate)
    for name, official in REQUIRED_TRANSLATE.items():
        info = translate[name]
        assert tuple(d.official_name for d in info.directions) == official, name
        assert info.family == name.split("-", 1)[0]
        assert info.licence == "BSD-2-Clause"
        assert info.homepage == "https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix"
        assert info.paper == {"pix2pix": "https://arxiv.org/abs/1611.07004", "cyclegan": "https://arxiv.org/abs/1703.10593"}[info.family]
        assert info.options.resolution == 256
        folder = JUNYANZ_FOLDER[info.family]
        for d, official_name in zip(info.directions, official):
            assert [s.url for s in d.sources] == [f"http://{JUNYANZ_HOST}{folder}{official_name}.pth"]
            assert all(s.sha256 is None and s.size is None for s in d.sources), "upstream publishes no digest or size"


def test_pix2pix_and_cyclegan_files_are_told_apart():
    """Both families release sat2map.pth / map2sat.pth / facades_label2photo.pth: different files."""
    p2p, cyc = zoo.info("pix2pix-sat2map"), zoo.info("cyclegan-sat2map")
    assert [d.official_name for d in p2p.directions] == [d.official_name for d in cyc.directions]
    assert not {s.url for s in all_sources(p2p)} & {s.url for s in all_sources(cyc)}
    p2p_facades = zoo.info("pix2pix-facades").direction("facades_label2photo").sources
    cyc_facades = zoo.info("cyclegan-facades").direction("facades_label2photo").sources
    assert p2p_facades[0].url != cyc_facades[0].url
    # each direction is cached under its own entry name, so equal file names cannot collide
    assert zoo.info("pix2pix-sat2map@AtoB").name != zoo.info("cyclegan-sat2map@AtoB").name


def test_translate_default_is_horse2zebra():
    defaults = [m.name for m in zoo.list_models(task="translate") if "default" in m.tags]
    assert defaults == ["cyclegan-horse2zebra"]


@pytest.mark.parametrize("info", zoo.list_models(), ids=lambda m: m.name)
def test_entry_is_complete(info):
    assert info.sources, "every entry needs at least one source"
    assert info.licence in HF_LICENCE
    assert info.arch in family(info.family).archs and info.task == family(info.family).task
    for source in all_sources(info):
        if isinstance(source, UrlSource):
            check_url(source.url, info.family)
            assert source.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", source.sha256)
        elif isinstance(source, HubSource):
            assert re.fullmatch(r"[0-9a-f]{40}", source.revision), "Hub sources must pin a commit"
        elif isinstance(source, PackagedSource):
            assert set(source.sha256) == set(source.files), "every packaged file needs a digest"
        elif isinstance(source, BundledSource):
            assert source.sha256 and re.fullmatch(r"[0-9a-f]{64}", source.sha256), "bundled weights are pinned"
            assert is_demo(info)
        else:
            assert isinstance(source, ManualSource)
            assert source.url.startswith("https://")
    if getattr(info.options, "interpolate_with", None):
        partner = zoo.info(info.options.interpolate_with)
        assert partner.arch == info.arch and partner.options.scale == info.options.scale
        assert partner.arch_kwargs == info.arch_kwargs and partner.config == info.config, "partners need identical shapes"
        assert partner.options.interpolate_with == info.name or ONE_WAY_PARTNERS.get(info.name) == partner.name
    if info.task == "translate":
        names = [d.name for d in info.directions]
        assert names and names[0] == "AtoB", "AtoB comes first: it is the default direction"
        assert names == list(DIRECTION_NAMES[: len(names)])
        assert info.sources == info.directions[0].sources, "the entry's sources are its default direction's"
        assert info.options.test_mode in ("official", "eval")
        if info.family in TEST_MODE:
            assert info.options.test_mode == TEST_MODE[info.family]
        for d in info.directions:
            assert d.official_name, f"{info.name} {d.name} needs its upstream name"
            assert d.input_domain and d.output_domain and d.input_domain != d.output_domain
            assert len(d.sources) >= 1
        assert len({d.official_name for d in info.directions}) == len(info.directions)
    elif info.task == "generate":
        assert not info.directions and isinstance(info.options, GenerateOptions)
        assert info.options.resolution == info.arch_kwargs["img_resolution"] and info.options.c_dim == info.arch_kwargs.get("c_dim", 0)
    elif info.task == "inpaint":
        assert not info.directions and isinstance(info.options, InpaintOptions) and info.arch_kwargs["layout"] in ("tf", "pt")
    elif info.task == "measure":
        assert not info.directions and isinstance(info.options, MeasureOptions) and info.options.compare_side >= 16
    else:
        assert not info.directions and isinstance(info.options, UpscaleOptions) and info.options.scale in (2, 4)


@pytest.mark.parametrize("info", zoo.list_models(), ids=lambda m: m.name)
def test_card_matches_entry(info):
    text = read_card(info.card)
    assert text is not None, f"model_cards/{info.card} is missing"
    meta = card_metadata(text)
    assert meta["license"] == HF_LICENCE[info.licence]
    assert meta["library_name"] == "gan-zoo"
    assert info.title in text
    for source in all_sources(info):
        url = getattr(source, "url", None)
        if url:
            assert url in text, f"card of {info.name} does not name {url}"
    if meta["license"] == "other":
        assert meta["license_name"] and meta["license_link"].startswith("https://")
        if info.licence not in OPEN_OTHER:
            assert "non-commercial" in text.lower(), "a non-commercial licence says so in the card"
    if is_demo(info):  # trained by gan-zoo: the card of its training run
        assert meta["pipeline_tag"] == PIPELINE_TAGS[info.task] and info.family in meta["tags"]
        for needed in ("## Training", "Wall time", "Steps:", "## Quality on held-out data", "## Reproduce", "zoo train ",
                       f'zoo.load("{info.name}")', f"--model {info.name}", "Parameters: "):
            assert needed in text, f"card of {info.name} lacks {needed!r}"
        return
    if info.task == "generate":
        assert meta["pipeline_tag"] == "unconditional-image-generation" and info.family in meta["tags"]
        assert f'zoo.load("{info.name}")' in text and f"--model {info.name}" in text and "no checksum" in text.lower()
    if info.task == "translate":
        assert meta["pipeline_tag"] == "image-to-image"
        assert info.family in meta["tags"]
        for d in info.directions:
            assert f"`{d.official_name}`" in text, f"card of {info.name} does not name {d.official_name}"
            assert d.input_domain in text and d.output_domain in text
        assert f"`{info.options.test_mode}`" in text, "the card explains the test mode"
        assert f"{PARAMS[info.arch]:,}" in text, "the card states the parameter count"
        assert "no checksum" in text.lower()
        assert f'zoo.load("{info.name}")' in text and f"--model {info.name}" in text


def test_variant_by_direction_name_and_official_name():
    base = zoo.info("cyclegan-horse2zebra")
    zebra2horse = f"http://{JUNYANZ_HOST}/cyclegan/pretrained_models/zebra2horse.pth"
    for spelling in ("cyclegan-horse2zebra@BtoA", "cyclegan-horse2zebra@zebra2horse"):
        v = zoo.info(spelling)
        assert v.name == "cyclegan-horse2zebra@BtoA"
        assert [s.url for s in v.sources] == [zebra2horse]
        assert [d.name for d in v.directions] == ["BtoA"]
        assert v.directions[0].official_name == "zebra2horse"
        assert (v.directions[0].input_domain, v.directions[0].output_domain) == ("zebra photo", "horse photo")
        assert v.base_name == "cyclegan-horse2zebra"
        assert (v.family, v.arch, v.card, v.options.test_mode, v.licence) == (base.family, base.arch, base.card, base.options.test_mode, base.licence)
    a = zoo.info("cyclegan-horse2zebra@AtoB")
    assert a.name == "cyclegan-horse2zebra@AtoB"
    assert [s.url for s in a.sources] == [f"http://{JUNYANZ_HOST}/cyclegan/pretrained_models/horse2zebra.pth"]
    assert zoo.info("cyclegan-horse2zebra@horse2zebra") == a
    # the registry entry itself is unchanged by asking for a variant
    assert zoo.info("cyclegan-horse2zebra") is base and len(base.directions) == 2


def test_unknown_direction_lists_what_is_offered():
    with pytest.raises(UnknownModelError) as err:
        zoo.info("cyclegan-horse2zebra@sideways")
    message = str(err.value)
    assert "'sideways'" in message
    assert "AtoB (horse2zebra)" in message and "BtoA (zebra2horse)" in message
    with pytest.raises(UnknownModelError) as err:
        zoo.info("cyclegan-style-vangogh@BtoA")  # only the photo -> painting generator was released
    assert "AtoB (style_vangogh)" in str(err.value) and "BtoA (" not in str(err.value)
    with pytest.raises(UnknownModelError, match="no directions"):
        zoo.info("realesrgan-x4plus@AtoB")


@pytest.mark.parametrize("name", sorted(REQUIRED_TRANSLATE))
def test_parts_one_per_released_file(name):
    info = zoo.info(name)
    parts = info.parts()
    assert len(parts) == len(REQUIRED_TRANSLATE[name]) == len(info.directions)
    assert [p.name for p in parts] == [f"{name}@{d}" for d in DIRECTION_NAMES[: len(parts)]]
    for part, d in zip(parts, info.directions):
        assert part.sources == d.sources and part.directions == (d,)
        assert part.parts() == [part], "a single-direction part is its own only part"
    assert len({s.url for p in parts for s in p.sources}) == len(parts)
    summary = info.summary()
    assert [x["official_name"] for x in summary["directions"]] == list(REQUIRED_TRANSLATE[name])
    assert summary["test_mode"] == info.options.test_mode and summary["resolution"] == 256


def test_upscale_entries_are_their_own_part():
    info = zoo.info("realesrgan-x4plus")
    assert info.parts() == [info]


@pytest.mark.parametrize("family", ["pix2pix", "cyclegan"])
def test_translate_config_matches_the_released_architecture(family):
    """The entry's config is accepted by the official-format reader for the released layout, and
    rejects the other family's layout (a wrong file at the URL fails instead of loading)."""
    torch = pytest.importorskip("torch")
    from zoo.archs import build
    from zoo.errors import CheckpointError
    from zoo.formats.pix2pix import convert_state_dict

    released = {
        "pix2pix": ("unet", {"num_downs": 8, "ngf": 64, "norm": "batch", "use_dropout": True}),
        "cyclegan": ("resnet", {"n_blocks": 9, "ngf": 64, "norm": "instance", "use_dropout": False}),
    }
    entries = [m for m in zoo.list_models(family=family) if not is_demo(m)]
    assert entries and len({repr(sorted(m.config.items())) for m in entries}) == 1, "one release config per family"
    config = entries[0].config
    arch, kwargs = released[family]
    with torch.device("meta"):
        net = build(arch, kwargs)
        other_arch, other_kwargs = released["cyclegan" if family == "pix2pix" else "pix2pix"]
        other = build(other_arch, other_kwargs)
    assert sum(p.numel() for p in net.parameters()) == PARAMS[arch]
    converted = convert_state_dict(net.state_dict(), config)
    assert converted.arch == arch == entries[0].arch
    assert converted.arch_kwargs["use_dropout"] is (family == "pix2pix")
    assert converted.arch_kwargs["norm"] == kwargs["norm"]
    with pytest.raises(CheckpointError):
        convert_state_dict(other.state_dict(), config)


def test_filters():
    upscalers = zoo.list_models(task="upscale")
    assert upscalers and all(m.task == "upscale" for m in upscalers)
    assert zoo.list_models(task="upscale", family="esrgan") == zoo.list_models(family="esrgan")
    translators = zoo.list_models(task="translate")
    assert {m.family for m in translators} >= {"pix2pix", "cyclegan"}
    assert all(m.task == "translate" and m.directions for m in translators)
    assert zoo.list_models(family="cyclegan") == [m for m in translators if m.family == "cyclegan"]
    with pytest.raises(ValueError, match="unknown task"):
        zoo.list_models(task="paint")


def test_unknown_name_suggests_close_matches():
    with pytest.raises(UnknownModelError, match="did you mean realesrgan-x4plus"):
        zoo.info("realesrgan-x4")
    with pytest.raises(UnknownModelError) as err:
        zoo.load("no-such-model-at-all")
    assert "unknown model 'no-such-model-at-all'" in str(err.value)


def test_import_zoo_is_light():
    code = (
        "import sys, zoo; zoo.list_models(); zoo.info('realesrgan-x4plus');"
        "heavy = [m for m in ('torch', 'gradio', 'numpy', 'PIL', 'safetensors', 'huggingface_hub') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_task_options_are_validated_by_their_task(temp_entries):
    """Entries share a core; what is task-specific lives in the task's options and is checked there."""
    import dataclasses

    from zoo.tasks.options import TranslateOptions

    up = zoo.info("realesr-animevideov3")
    tr = zoo.info("cyclegan-horse2zebra")
    for options, message in [
        (None, "needs its task's options"),
        (tr.options, "needs its task's options"),  # translation options on an upscaler
        (UpscaleOptions(scale=0), "scale must be an integer in 1..16"),
        (UpscaleOptions(scale=4, interpolate_with="../x"), "interpolate_with must be a model name"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            temp_entries(dataclasses.replace(up, name="t-options", options=options))
    for options, message in [
        (TranslateOptions(directions=(), test_mode="eval"), "directions must be AtoB"),
        (TranslateOptions(directions=tr.directions[::-1], test_mode="eval"), "directions must be AtoB"),
        (TranslateOptions(directions=tr.directions, test_mode="train"), "test_mode must be one of"),
        (TranslateOptions(directions=tr.directions, test_mode="eval", resolution=3), "resolution must be an integer"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            temp_entries(dataclasses.replace(tr, name="t-options", options=options))
    assert "t-options" not in {m.name for m in zoo.list_models()}
