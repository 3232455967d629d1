"""The **Inpaint** tab: DeepFill v2 fills what the brush paints.

Event for gradio_client: ``/inpaint`` (image, mask, model, dilation) -> the inpainted image (a PNG
file named after the input and the model). ``image`` and ``mask`` are images of one size (the mask
white, or opaque, where to fill). In the page, the mask is the brush layer of the editor
(``gr.ImageEditor``): its alpha, resized back to the uploaded image's size when the editor shows a
rescaled copy; an uploaded mask replaces it. Pixels outside the hole come back unchanged.

Models load on first use into the app's shared cache (``models.MODELS``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

import zoo
from zoo.registry import ModelInfo

from . import settings
from .common import choices_and_default, load_model, model_details, offline_default, run_button, task_info, user_error, user_errors
from .runs import Run, duration, expected_seconds, flops_per_unit, save_result, stem_of
from .uploads import header_size, limit_note, open_upload, upload_path

LABEL = "Inpaint"  # the tab's title

PREFERRED_MODEL = "deepfill-places2"  # the released default, used whenever it is here
DEFAULT_MODEL = offline_default("inpaint", PREFERRED_MODEL)  # else a model that works offline (bundled demo weights)
EXAMPLES_DIR = Path(__file__).parent / "examples"
EXAMPLES = (("coffee.jpg", "coffee_spoon_mask.png"),)  # (photo, its mask): remove the spoon


def plan(info: ModelInfo, size: tuple[int, int]) -> float:
    """Network FLOPs of inpainting an image of ``size``: whole up to the native limit, else about one
    trained-size window (the usual case of one brushed area)."""
    from zoo.tasks.inpaint import NATIVE_MAX_SIDE

    width, height = size
    side = float(getattr(info.options, "trained_size", 256) or 256)
    pixels = width * height if max(width, height) <= NATIVE_MAX_SIDE else side * side
    return pixels * flops_per_unit(info)


def plan_text(value: Any, model: str) -> str:
    """What to do next, and roughly how long a run takes here."""
    background = value.get("background") if isinstance(value, dict) else value
    size = header_size(background)
    if size is None or not model:
        return f"Upload a photo ({limit_note()}), then paint over what to remove."
    info = zoo.info(model)
    return f"Output **{size[0]}×{size[1]}** (only the painted area changes) · {duration(expected_seconds(info.name, plan(info, size)))} here."


def inpaint(image: Any, mask: Any, model: str = DEFAULT_MODEL, dilation: float = 0,
            progress: gr.Progress = gr.Progress()) -> str:
    """Fill the white (or opaque) pixels of ``mask`` in ``image`` with registry model ``model``;
    returns the path of the PNG result."""
    picture = open_upload(image, "Upload an image to inpaint.")
    if mask is None or (isinstance(mask, dict) and not mask.get("path")):
        raise user_error("Paint over what to remove, or upload a mask.")
    hole_image = open_upload(mask, "Paint over what to remove, or upload a mask.")
    return fill(picture, hole_image, model, dilation, stem_of(image), progress)


def fill(picture: Image.Image, mask: Image.Image, model: str, dilation: float, stem: str, progress: gr.Progress | None) -> str:
    run = Run(progress, "Inpainting", "windows")
    with user_errors():
        info = task_info(model, "inpaint", "an inpainting network")
        if mask.size != picture.size:
            raise user_error(f"The mask is {mask.width}×{mask.height} but the image is {picture.width}×{picture.height}: "
                             "upload a mask of the image's size, or paint one with the brush.")
        inpainter = load_model(run, info)
        hole = inpainter.hole(mask, picture.size, int(dilation))
        if not hole.any():
            raise user_error("The mask is empty: paint over what to remove (white brush), then press Inpaint.")
        with run.computing(info.name, plan(info, picture.size)):
            result = inpainter(picture, hole, max_megapixels=settings.max_megapixels(), progress=run.step)
        return save_result(result, stem, info.name)


def _open_layer(layer: Any) -> Image.Image | None:
    if layer is None:
        return None
    if isinstance(layer, Image.Image):
        return layer
    path = upload_path(layer)
    return Image.open(path) if path else None


def editor_mask(value: dict | None, size: tuple[int, int]) -> Image.Image | None:
    """The brush strokes of an ImageEditor value as an L mask of ``size`` (255 = hole), or None."""
    layers = [_open_layer(layer) for layer in (value or {}).get("layers") or []]
    layers = [layer for layer in layers if layer is not None]
    if not layers:
        return None
    alpha = np.zeros((layers[0].height, layers[0].width), dtype=np.uint8)
    for layer in layers:
        alpha = np.maximum(alpha, np.asarray(layer.convert("RGBA"))[..., 3])
    mask = Image.fromarray(np.where(alpha > 0, 255, 0).astype(np.uint8), "L")
    return mask if mask.size == tuple(size) else mask.resize(size, Image.NEAREST)


def inpaint_from_editor(value: dict | None, mask_upload: Any, model: str, dilation: float,
                        original: Image.Image | None, progress: gr.Progress = gr.Progress()) -> str:
    """The page's button: the uploaded image (at its own size) and the painted (or uploaded) mask."""
    background = (value or {}).get("background")
    if original is None and background is None:
        raise user_error("Upload an image to inpaint.")
    picture = original if original is not None else open_upload(background, "Upload an image to inpaint.")
    if mask_upload is not None and upload_path(mask_upload):
        mask = open_upload(mask_upload, "Upload a mask.")
    else:
        mask = editor_mask(value, picture.size)
        if mask is None:
            raise user_error("Paint over what to remove, or upload a mask.")
    stem = stem_of(background) if background is not None else "image"
    return fill(picture, mask, model, dilation, stem, progress)


def keep_original(value: dict | None, original: Image.Image | None = None) -> Image.Image | None:
    """The image being edited at its own size: the editor's background, unless ``original`` (kept
    from the upload) is that same picture at a larger size (the editor shows a rescaled copy)."""
    background = (value or {}).get("background")
    if background is None or original is None or original.size == background.size:
        return background
    if abs(original.width / original.height - background.width / background.height) > 0.01 or original.width < background.width:
        return background
    shrunk = np.asarray(original.convert("RGB").resize(background.size, Image.BILINEAR), dtype=np.float32)
    same = np.abs(shrunk - np.asarray(background.convert("RGB"), dtype=np.float32)).mean() < 8
    return original if same else background


def details_text(name: str) -> str:
    return model_details(zoo.info(name))


def on_model_change(name: str) -> str:
    with user_errors():
        return details_text(name)


def build_tab() -> gr.Tab:
    """The Inpaint tab; call inside a ``gr.Blocks`` context."""
    choices, default = choices_and_default("inpaint", PREFERRED_MODEL)
    with gr.Tab(LABEL, id="inpaint") as tab:
        gr.Markdown("Remove things from a photo: paint over them with the brush (or upload a mask, white = fill) "
                    "and DeepFill v2 fills them in. Pixels outside the painted area are returned unchanged.")
        with gr.Row():
            with gr.Column(scale=1):
                editor = gr.ImageEditor(elem_id="inpaint-editor", label=f"Image ({limit_note()}): paint what to remove", type="pil",
                                        image_mode="RGBA", sources=["upload", "clipboard"],
                                        brush=gr.Brush(colors=["#ffffff"], color_mode="fixed", default_size=12), layers=False,
                                        height=420)
                original = gr.State(None)
                with gr.Accordion("Or upload a mask instead of painting (white = fill)", open=False):
                    mask_upload = gr.Image(label="Mask (the image's size)", type="filepath", image_mode=None, sources=["upload"],
                                           elem_id="inpaint-mask")
                model = gr.Dropdown(choices=choices, value=default, label="Model", interactive=True, elem_id="inpaint-model")
                details = gr.Markdown(details_text(default) if default else "")
                dilation = gr.Slider(0, 32, value=0, step=1, label="Grow the hole by (pixels)")
                plan_md = gr.Markdown(f"Upload a photo ({limit_note()}), then paint over what to remove.", elem_id="inpaint-plan")
                with gr.Row():
                    run = gr.Button("Inpaint", variant="primary", elem_id="inpaint-run")
                    stop = gr.Button("Stop", variant="secondary", elem_id="inpaint-stop", visible=False)
            with gr.Column(scale=1):
                image_out = gr.Image(elem_id="inpaint-output", label="Inpainted image (full resolution PNG)", type="filepath",
                                     interactive=False, buttons=["download", "fullscreen"], height=420)
        examples = [[str(EXAMPLES_DIR / photo), str(EXAMPLES_DIR / mask)] for photo, mask in EXAMPLES
                    if (EXAMPLES_DIR / photo).is_file() and (EXAMPLES_DIR / mask).is_file()]
        if examples:
            gr.Examples(examples=examples, inputs=[editor, mask_upload], label="Example: remove the spoon")
        # kept on every change too, so an example or a new picture replaces the previous upload
        editor.upload(keep_original, inputs=editor, outputs=original, api_visibility="private")
        editor.change(keep_original, inputs=[editor, original], outputs=original, api_visibility="private").then(
            plan_text, inputs=[original, model], outputs=plan_md, api_visibility="private")
        model.change(on_model_change, inputs=model, outputs=details, api_visibility="private")
        slots = settings.task_slots()
        run_button(run, stop, inpaint_from_editor, inputs=[editor, mask_upload, model, dilation, original], outputs=image_out,
                   task="inpaint")
        # the API endpoint: an image and a mask of one size
        api_image = gr.Image(type="filepath", visible=False)
        api_mask = gr.Image(type="filepath", visible=False)
        api_button = gr.Button(visible=False)
        api_button.click(inpaint, inputs=[api_image, api_mask, model, dilation], outputs=image_out, api_name="inpaint",
                         preprocess=False, concurrency_id="inpaint", concurrency_limit=slots)
    return tab
