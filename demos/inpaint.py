"""The **Inpaint** tab: DeepFill v2 fills what the brush paints.

Event for gradio_client: ``/inpaint`` (image, mask, model, dilation) -> the inpainted image (PNG).
``image`` and ``mask`` are images of one size (the mask white, or opaque, where to fill). In the
page, the mask is the brush layer of the editor (``gr.ImageEditor``, PNG): its alpha, resized back
to the uploaded image's size when the editor shows a rescaled copy; an uploaded mask replaces it.

Nothing is loaded when the tab is built: a model is loaded on the first request that needs it and
kept in a small LRU cache (``INPAINTERS``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

import zoo
from zoo.tasks import images

from .common import ModelCache, available_offline, choices_and_default, offline_default, task_model, user_error, user_errors, weights_note

LABEL = "Inpaint"  # the tab's title

PREFERRED_MODEL = "deepfill-places2"  # the released default, used whenever it is here
DEFAULT_MODEL = offline_default("inpaint", PREFERRED_MODEL)  # else a model that works offline (bundled demo weights)
APP_MAX_MEGAPIXELS = 4.0  # the demo's input limit unless ZOO_MAX_MEGAPIXELS says otherwise

INPAINTERS = ModelCache(size=2)
EXAMPLES_DIR = Path(__file__).parent / "examples"
EXAMPLES = (("coffee.jpg", "coffee_spoon_mask.png"),)  # (photo, its mask): remove the spoon


def input_limit() -> float | None:
    return None if os.environ.get("ZOO_MAX_MEGAPIXELS") else APP_MAX_MEGAPIXELS


def get_inpainter(name: str) -> Any:
    return task_model(INPAINTERS, name, "inpaint", "an inpainting network")


def inpaint(image: Image.Image | None, mask: Image.Image | None, model: str = DEFAULT_MODEL, dilation: float = 0,
            progress: gr.Progress = gr.Progress()) -> Image.Image:
    """Fill the white (or opaque) pixels of ``mask`` in ``image`` with registry model ``model``."""
    if image is None:
        raise user_error("Upload an image to inpaint.")
    if mask is None:
        raise user_error("Paint over what to remove, or upload a mask.")
    with user_errors():
        images.check_header(image, input_limit())
        progress(0.0, desc=f"Loading {model}")
        inpainter = get_inpainter(model)
        hole = inpainter.hole(mask, image.size, int(dilation))
        if not hole.any():
            gr.Warning("The mask is empty: nothing was filled. Paint over what to remove.")
        progress(0.5, desc="Inpainting")
        return inpainter(image, hole, max_megapixels=input_limit())


def editor_mask(value: dict | None, size: tuple[int, int]) -> Image.Image | None:
    """The brush strokes of an ImageEditor value as an L mask of ``size`` (255 = hole), or None."""
    layers = [layer for layer in (value or {}).get("layers") or [] if layer is not None]
    if not layers:
        return None
    alpha = np.zeros((layers[0].height, layers[0].width), dtype=np.uint8)
    for layer in layers:
        alpha = np.maximum(alpha, np.asarray(layer.convert("RGBA"))[..., 3])
    mask = Image.fromarray(np.where(alpha > 0, 255, 0).astype(np.uint8), "L")
    return mask if mask.size == tuple(size) else mask.resize(size, Image.NEAREST)


def inpaint_from_editor(value: dict | None, mask_upload: Image.Image | None, model: str, dilation: float,
                        original: Image.Image | None, progress: gr.Progress = gr.Progress()) -> Image.Image:
    """The page's button: the uploaded image (at its own size) and the painted (or uploaded) mask."""
    background = (value or {}).get("background")
    image = original if original is not None else background
    if image is None:
        raise user_error("Upload an image to inpaint.")
    mask = mask_upload if mask_upload is not None else editor_mask(value, image.size)
    return inpaint(image, mask, model, dilation, progress=progress)  # a mask of another size is refused there


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


def model_details(name: str) -> str:
    info = zoo.info(name)
    offline = "works offline" if available_offline(info) else "needs its file imported (see the Model zoo tab)"
    terms = " (non-commercial)" if "NC" in info.licence else ""
    return f"**{info.title}** · {info.licence}{terms} · {offline}  \n{info.description}{weights_note(info)}"


def on_model_change(name: str) -> str:
    with user_errors():
        return model_details(name)


def build_tab() -> gr.Tab:
    """The Inpaint tab; call inside a ``gr.Blocks`` context."""
    choices, default = choices_and_default("inpaint", PREFERRED_MODEL)
    with gr.Tab(LABEL, id="inpaint") as tab:
        gr.Markdown("Remove things from a photo: paint over them with the brush (or upload a mask, white = fill) "
                    "and DeepFill v2 fills them in. Pixels outside the painted area are returned unchanged.")
        with gr.Row():
            with gr.Column(scale=1):
                editor = gr.ImageEditor(label="Image: paint what to remove", type="pil", format="png", image_mode="RGBA",
                                        sources=["upload", "clipboard"], brush=gr.Brush(colors=["#ffffff"], color_mode="fixed"),
                                        layers=False)
                original = gr.State(None)
                mask_upload = gr.Image(label="Or upload a mask (white = fill)", type="pil", image_mode="L", format="png",
                                       sources=["upload"])
                model = gr.Dropdown(choices=choices, value=default, label="Model", interactive=True)
                details = gr.Markdown(model_details(default) if default else "")
                dilation = gr.Slider(0, 32, value=0, step=1, label="Grow the hole by (pixels)")
                run = gr.Button("Inpaint", variant="primary")
            with gr.Column(scale=1):
                image_out = gr.Image(label="Inpainted image (PNG)", type="pil", format="png", interactive=False,
                                     buttons=["download", "fullscreen"])
        examples = [[str(EXAMPLES_DIR / photo), str(EXAMPLES_DIR / mask)] for photo, mask in EXAMPLES
                    if (EXAMPLES_DIR / photo).is_file() and (EXAMPLES_DIR / mask).is_file()]
        if examples:
            gr.Examples(examples=examples, inputs=[editor, mask_upload], label="Example: remove the spoon")
        # kept on every change too, so an example or a new picture replaces the previous upload
        editor.upload(keep_original, inputs=editor, outputs=original, api_visibility="private")
        editor.change(keep_original, inputs=[editor, original], outputs=original, api_visibility="private")
        model.change(on_model_change, inputs=model, outputs=details, api_visibility="private")
        run.click(inpaint_from_editor, inputs=[editor, mask_upload, model, dilation, original], outputs=image_out,
                  api_visibility="private", concurrency_limit=1)
        # the API endpoint: an image and a mask of one size
        api_image = gr.Image(type="pil", visible=False, format="png")
        api_mask = gr.Image(type="pil", visible=False, format="png")
        api_button = gr.Button(visible=False)
        api_button.click(inpaint, inputs=[api_image, api_mask, model, dilation], outputs=image_out, api_name="inpaint", concurrency_limit=1)
    return tab
