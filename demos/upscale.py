"""The **Upscale** tab: ESRGAN-family super-resolution with tiling, alpha and network interpolation.

Event for gradio_client: ``/upscale`` (image, model, tile, outscale, alpha, interpolation) -> the
upscaled image (a PNG file). Only ``image`` is required; the other parameters default to the
initial values of their controls (model realesrgan-x4plus, its default tile, outscale 4,
alpha "model", interpolation 0).

Nothing is loaded when the tab is built: models are loaded on the first upscale and kept in a
small LRU cache (``UPSCALERS``), so repeated calls with the same model do not reload it.
"""

from __future__ import annotations

import os
from typing import Any

import gradio as gr
from PIL import Image

import zoo
from zoo.errors import ZooError
from zoo.registry import ModelInfo
from zoo.tasks import images

from .common import ModelCache, available_offline, choices_and_default, model_choices, one_line, user_error, user_errors

LABEL = "Upscale"  # the tab's title

DEFAULT_MODEL = "realesrgan-x4plus"
DEFAULT_OUTSCALE = 4.0
ALPHA_CHOICES = [("Upscale alpha with the model", "model"), ("Resize alpha (bicubic)", "resize")]
# Input size limit of the demo (input megapixels). A CPU Space cannot upscale 16 MP x4 in a
# reasonable time or memory, so the app is stricter than the library unless ZOO_MAX_MEGAPIXELS
# says otherwise.
APP_MAX_MEGAPIXELS = 4.0
FALLBACK_TILE = 384


def input_limit() -> float | None:
    """``max_megapixels`` passed to the upscaler: None (the library reads ZOO_MAX_MEGAPIXELS) when set."""
    return None if os.environ.get("ZOO_MAX_MEGAPIXELS") else APP_MAX_MEGAPIXELS


# -- loaded models -------------------------------------------------------------------------------


UpscalerCache = ModelCache  # the name the upscale tests know


UPSCALERS = UpscalerCache(size=2)


def get_upscaler(name: str, interpolation: float = 0.0) -> Any:
    """The upscaler to run for ``name`` and an interpolation amount (0 = the model itself)."""
    info = zoo.info(name)
    if info.task != "upscale":
        raise ZooError(f"{name} is a {info.task} model, not an upscaler")
    interpolation = float(interpolation or 0.0)
    if not 0.0 <= interpolation <= 1.0:
        raise ValueError(f"interpolation must be in [0, 1], not {interpolation:g}")
    if interpolation == 0.0:
        return UPSCALERS.get(name)
    if not info.options.interpolate_with:
        raise ZooError(f"{name} has no interpolation partner; set interpolation to 0")
    if interpolation == 1.0:
        return UPSCALERS.get(info.options.interpolate_with)
    return UPSCALERS.get_blend(name, info.options.interpolate_with, interpolation)


def default_tile(info: ModelInfo) -> int:
    """The model's default tile size, from its descriptor (built on the meta device: nothing loaded)."""
    from zoo.archs import describe

    return describe(info.arch, info.arch_kwargs).tile


def interpolation_partner(info: ModelInfo) -> ModelInfo | None:
    """The partner of ``info`` when interpolation can run offline: both models available locally."""
    if not info.options.interpolate_with:
        return None
    try:
        partner = zoo.info(info.options.interpolate_with)
    except ZooError:
        return None
    if available_offline(info) and available_offline(partner):
        return partner
    return None


# -- event functions -----------------------------------------------------------------------------


def upscale(
    image: Image.Image | None,
    model: str = DEFAULT_MODEL,
    tile: float | None = None,
    outscale: float | None = DEFAULT_OUTSCALE,
    alpha: str = "model",
    interpolation: float = 0.0,
    progress: gr.Progress = gr.Progress(),
) -> Image.Image:
    """Upscale ``image`` with registry model ``model``.

    ``tile``: tile size in input pixels (0 = one pass, None = the model's default);
    ``outscale``: final factor (None = the network's own); ``alpha``: "model" or "resize";
    ``interpolation``: 0..1 toward the model's ``interpolate_with`` partner.
    """
    if image is None:
        raise user_error("Upload an image to upscale.")
    with user_errors():
        if alpha not in ("model", "resize"):
            raise ValueError(f"alpha must be 'model' or 'resize', not {alpha!r}")
        images.check_header(image, input_limit())  # size and frames before any decoding
        progress(0.0, desc=f"Loading {model}")
        upscaler = get_upscaler(model, interpolation)

        def report(done: int, total: int) -> None:
            progress((done, total), desc="Upscaling", unit="tiles")

        return upscaler(
            image,
            outscale=None if outscale is None else float(outscale),
            tile=None if tile is None else int(round(float(tile))),
            alpha=alpha,
            progress=report,
            max_megapixels=input_limit(),
        )


def display_copy(image: Image.Image) -> Image.Image:
    """An 8-bit L / LA / RGB / RGBA copy of ``image`` for display."""
    import numpy as np

    if image.mode in ("L", "LA", "RGB", "RGBA"):
        return image
    if image.mode.startswith("I"):
        arr = np.asarray(image).astype(np.float64) / 257.0
        return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), "L")
    if image.mode == "F":
        arr = np.asarray(image, dtype=np.float64) * 255.0
        return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), "L")
    has_alpha = "A" in image.getbands() or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def comparison(image: Image.Image | None, output: str | None) -> tuple[Image.Image, str] | None:
    """(input resized to the output's size with bicubic, output) for the before/after slider."""
    if image is None or output is None:
        return None
    with Image.open(output) as out:
        size = out.size
    before = display_copy(image).resize(size, Image.BICUBIC)
    return before, output


def model_details(name: str) -> str:
    info = zoo.info(name)
    offline = "works offline" if available_offline(info) else "needs a download (see the Model zoo tab)"
    text = f"**{info.title}** · x{info.options.scale} · {info.licence} · {offline}  \n{info.description}"
    if info.options.interpolate_with and interpolation_partner(info) is None:
        text += f"  \n*Network interpolation with `{info.options.interpolate_with}` needs both models available locally.*"
    return text


def on_model_change(name: str) -> tuple[Any, Any, Any, str]:
    """Updates for (tile slider, outscale slider, interpolation slider, details) on a new model."""
    try:
        info = zoo.info(name)
    except ZooError as exc:
        raise user_error(one_line(exc)) from exc
    partner = interpolation_partner(info)
    if partner is not None:
        label = f"Network interpolation with {partner.name}: {info.options.interpolate_label or 'toward the partner'} (0 = this model, 1 = the partner)"
        interp = gr.update(visible=True, interactive=True, label=label, value=0.0)
    else:
        interp = gr.update(visible=False, interactive=False, value=0.0)
    outscale = gr.update(value=float(info.options.scale)) if info.options.scale else gr.update()
    return gr.update(value=default_tile(info)), outscale, interp, model_details(name)


def refresh_choices(name: str) -> tuple[Any, str]:
    """Dropdown choices with fresh offline labels (a model may have been downloaded meanwhile)."""
    return gr.update(choices=model_choices("upscale"), value=name), model_details(name)


# -- layout --------------------------------------------------------------------------------------


def build_tab() -> gr.Tab:
    """The Upscale tab; call inside a ``gr.Blocks`` context."""
    choices, default = choices_and_default("upscale", DEFAULT_MODEL)
    info = zoo.info(default) if default else None
    partner = interpolation_partner(info) if info else None

    with gr.Tab(LABEL, id="upscale") as tab:
        gr.Markdown(
            "Super-resolution with ESRGAN-family models. Large images are processed in tiles; "
            "alpha is kept (upscaled by the model or resized)."
        )
        with gr.Row():
            with gr.Column(scale=1):
                image_in = gr.Image(label="Input image", type="pil", image_mode=None, format="png", sources=["upload", "clipboard"])
                model = gr.Dropdown(choices=choices, value=default, label="Model", interactive=True)
                details = gr.Markdown(model_details(default) if default else "", label="Model details")
                tile = gr.Slider(0, 1024, value=default_tile(info) if info else FALLBACK_TILE, step=16, label="Tile size (input pixels; 0 = one pass)")
                outscale = gr.Slider(1, 8, value=DEFAULT_OUTSCALE, step=0.5, label="Output scale")
                alpha = gr.Radio(ALPHA_CHOICES, value="model", label="Alpha channel")
                interpolation = gr.Slider(
                    0.0,
                    1.0,
                    value=0.0,
                    step=0.05,
                    label=(
                        f"Network interpolation with {partner.name}: {info.options.interpolate_label} (0 = this model, 1 = the partner)"
                        if partner is not None
                        else "Network interpolation"
                    ),
                    visible=partner is not None,
                    interactive=partner is not None,
                )
                run = gr.Button("Upscale", variant="primary")
            with gr.Column(scale=2):
                slider = gr.ImageSlider(label="Before (bicubic) / after", type="pil", format="png", interactive=False)
                image_out = gr.Image(
                    label="Upscaled image (PNG)", type="filepath", image_mode=None, format="png", interactive=False, buttons=["download", "fullscreen"]
                )

        model.change(on_model_change, inputs=model, outputs=[tile, outscale, interpolation, details], api_visibility="private")
        tab.select(refresh_choices, inputs=model, outputs=[model, details], api_visibility="private")
        run.click(
            upscale,
            inputs=[image_in, model, tile, outscale, alpha, interpolation],
            outputs=image_out,
            api_name="upscale",
            concurrency_limit=1,
        ).success(comparison, inputs=[image_in, image_out], outputs=slider, api_visibility="private")
    return tab
