"""The registry: entries are complete and consistent, lookups fail clearly, ``import zoo`` stays light."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import zoo
from zoo.cards import card_metadata, read_card
from zoo.errors import UnknownModelError
from zoo.registry import HubSource, ManualSource, PackagedSource, UrlSource

REQUIRED_ESRGAN = {
    "realesrgan-x4plus",
    "realesrgan-x2plus",
    "realesrnet-x4plus",
    "realesrgan-x4plus-anime-6b",
    "realesr-general-x4v3",
    "realesr-animevideov3",
    "esrgan-x4",
}
HF_LICENCE = {"BSD-3-Clause": "bsd-3-clause", "Apache-2.0": "apache-2.0", "MIT": "mit"}


def test_required_esrgan_entries_exist():
    names = {m.name for m in zoo.list_models(family="esrgan")}
    assert REQUIRED_ESRGAN <= names


@pytest.mark.parametrize("info", zoo.list_models(), ids=lambda m: m.name)
def test_entry_is_complete(info):
    assert info.sources, "every entry needs at least one source"
    assert info.licence in HF_LICENCE
    assert info.arch in ("rrdbnet", "srvgg")
    for source in info.sources:
        if isinstance(source, UrlSource):
            assert source.url.startswith("https://"), source.url
            assert source.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", source.sha256)
        elif isinstance(source, HubSource):
            assert re.fullmatch(r"[0-9a-f]{40}", source.revision), "Hub sources must pin a commit"
        elif isinstance(source, PackagedSource):
            assert set(source.sha256) == set(source.files), "every packaged file needs a digest"
        else:
            assert isinstance(source, ManualSource)
            assert source.url.startswith("https://")
    if info.interpolate_with:
        partner = zoo.info(info.interpolate_with)
        assert partner.arch == info.arch and partner.scale == info.scale
        assert partner.interpolate_with == info.name


@pytest.mark.parametrize("info", zoo.list_models(), ids=lambda m: m.name)
def test_card_matches_entry(info):
    text = read_card(info.card)
    assert text is not None, f"model_cards/{info.card} is missing"
    meta = card_metadata(text)
    assert meta["license"] == HF_LICENCE[info.licence]
    assert meta["library_name"] == "gan-zoo"
    assert info.title in text
    for source in info.sources:
        url = getattr(source, "url", None)
        if url:
            assert url in text, f"card of {info.name} does not name {url}"


def test_filters():
    upscalers = zoo.list_models(task="upscale")
    assert upscalers and all(m.task == "upscale" for m in upscalers)
    assert zoo.list_models(task="upscale", family="esrgan") == zoo.list_models(family="esrgan")
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
