"""The **Upscale** tab: ESRGAN-family super-resolution with tiling, alpha and network interpolation.

Event for gradio_client: ``/upscale`` (image, model, tile, outscale, alpha, interpolation) -> the
upscaled image (a PNG file named after the input, the model and the scale). Only ``image`` is
required; the other parameters default to the initial values of their controls (model
realesrgan-x4plus, tile -1 = planned from the memory budget, outscale 4, alpha "model",
interpolation 0).

Nothing is loaded when the tab is built: models load on the first upscale into the app's shared
cache (``models.MODELS``). Before a run the tab shows the output size and the time to expect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

import zoo
from zoo.errors import ZooError
from zoo.registry import ModelInfo

from . import messages, settings
from .common import available_offline, choices_and_default, example_paths, load_model, model_choices, model_details, run_button, task_info, user_error, user_errors
from .models import MODELS
from .runs import Run, duration, expected_seconds, flops_per_unit, save_result, stem_of
from .uploads import header_size, limit_note, open_upload

LABEL = "Upscale"  # the tab's title

DEFAULT_MODEL = "realesrgan-x4plus"
DEFAULT_OUTSCALE = 4.0
ALPHA_CHOICES = [("Upscale alpha with the model", "model"), ("Resize alpha (bicubic)", "resize")]
EXAMPLES_DIR = Path(__file__).parent / "examples"
EXAMPLES = ("small-astronaut.png", "small-coffee.png")  # small crops: a run takes seconds here


# -- models --------------------------------------------------------------------------------------


def interpolation_partner(info: ModelInfo) -> ModelInfo | None:
    """The partner of ``info`` when interpolation can run here: both models available locally."""
    if not info.options.interpolate_with:
        return None
    try:
        partner = zoo.info(info.options.interpolate_with)
    except ZooError:
        return None
    if available_offline(info) and available_offline(partner):
        return partner
    return None


def get_upscaler(run: Run, info: ModelInfo, interpolation: float = 0.0) -> Any:
    """The upscaler to run for ``info`` and an interpolation amount (0 = the model itself)."""
    interpolation = float(interpolation or 0.0)
    if not 0.0 <= interpolation <= 1.0:
        raise ValueError(f"interpolation must be in [0, 1], not {interpolation:g}")
    if interpolation == 0.0:
        return load_model(run, info)
    partner_name = info.options.interpolate_with
    if not partner_name:
        raise user_error(f"{info.title} has no interpolation partner: set Network interpolation to 0.")
    partner = task_info(partner_name, "upscale", "an upscaler")
    if interpolation == 1.0:
        return load_model(run, partner)
    return run.load(f"{info.title} blended with {partner.title}", lambda: MODELS.get_blend(info.name, partner.name, interpolation),
                    loaded=MODELS.peek(MODELS.blend_key(info.name, partner.name, interpolation)) is not None)


AUTO_TILE = -1  # the tile control's value for "plan the tiles from the memory budget"


def tile_choice(tile: float | None) -> int | None:
    """The library's ``tile`` for the control's value: None (planned) for -1 or nothing, else pixels."""
    if tile is None or int(round(float(tile))) == AUTO_TILE:
        return None
    return int(round(float(tile)))


# -- planning ------------------------------------------------------------------------------------


def plan(info: ModelInfo, size: tuple[int, int], tile: float | None, outscale: float | None, alpha_passes: int = 1) -> tuple[tuple[int, int], int, float, float]:
    """(output size, number of tiles, network FLOPs, context overhead) of upscaling an image of ``size`` with ``info``
    (the library's own tile plan: ``tiling.plan_tiles`` from the descriptor, nothing loaded)."""
    from zoo.archs import describe
    from zoo.tasks.tiling import plan_tiles

    d = describe(info.arch, info.arch_kwargs)
    width, height = size
    factor = float(outscale) if outscale else float(d.scale)
    out = (max(1, round(width * factor)), max(1, round(height * factor)))
    tiles = plan_tiles(height, width, context=d.context or 0, multiple=d.size_multiple, bytes_per_pixel=d.activation_bytes,
                       fallback_tile=d.tile, fixed_tile=tile_choice(tile))
    return out, tiles.tiles * alpha_passes, tiles.processed * alpha_passes * flops_per_unit(info), tiles.overhead


def plan_text(image: Any, model: str, tile: float | None, outscale: float | None, alpha: str = "model") -> str:
    """What the run will make and how long it should take here, shown before the run."""
    size = header_size(image)
    if size is None or not model:
        return f"Upload an image ({limit_note()})."
    try:
        info = zoo.info(model)
        limit = settings.max_megapixels()
        if size[0] * size[1] > limit * 1e6:
            return messages.too_large(*size, limit)
        passes = 2 if alpha == "model" and _has_alpha(image) else 1
        out, tiles, flops, overhead = plan(info, size, tile, outscale, passes)
    except (ZooError, ValueError) as exc:
        return messages.for_people(exc)
    pieces = f" in {tiles} tiles (their context adds {overhead - 1:.0%} work)" if tiles > 1 else " in one pass"
    return (f"Output **{out[0]}×{out[1]}**{pieces} · {duration(expected_seconds(info.name, flops))} here"
            f"{'' if available_offline(info) else ' after the download'}.")


def _has_alpha(image: Any) -> bool:
    from .uploads import upload_path

    try:
        with (image if isinstance(image, Image.Image) else Image.open(upload_path(image))) as im:
            return "A" in im.getbands() or "transparency" in im.info
    except Exception:  # noqa: BLE001
        return False


# -- event functions -----------------------------------------------------------------------------


def upscale(
    image: Any,
    model: str = DEFAULT_MODEL,
    tile: float | None = AUTO_TILE,
    outscale: float | None = DEFAULT_OUTSCALE,
    alpha: str = "model",
    interpolation: float = 0.0,
    progress: gr.Progress = gr.Progress(),
) -> str:
    """Upscale ``image`` (an upload, a path or a PIL image) with registry model ``model``; returns
    the path of the PNG result.

    ``tile``: tile size in input pixels (0 = one pass, -1 or None = planned from the memory budget);
    ``outscale``: final factor (None = the network's own); ``alpha``: "model" or "resize";
    ``interpolation``: 0..1 toward the model's ``interpolate_with`` partner.
    """
    picture = open_upload(image, "Upload an image to upscale.")
    run = Run(progress, "Upscaling", "tiles")
    with user_errors():
        if alpha not in ("model", "resize"):
            raise ValueError(f"alpha must be 'model' or 'resize', not {alpha!r}")
        info = task_info(model, "upscale", "an upscaler")
        upscaler = get_upscaler(run, info, interpolation)
        tile_px = tile_choice(tile)
        passes = 2 if alpha == "model" and ("A" in picture.getbands() or "transparency" in picture.info) else 1
        _, tiles, flops, _ = plan(info, picture.size, tile_px, outscale, passes)
        with run.computing(info.name, flops, tiles):
            result = upscaler(picture, outscale=None if outscale is None else float(outscale), tile=tile_px, alpha=alpha,
                              progress=run.step, max_megapixels=settings.max_megapixels())
        factor = f"x{float(outscale):g}" if outscale else f"x{info.options.scale}"
        blend = f"interp{float(interpolation):g}" if interpolation else ""
        return save_result(result, stem_of(image), info.name, blend, factor)


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


def comparison(image: Any, output: str | None) -> tuple[Image.Image, str] | None:
    """(input resized to the output's size with bicubic, output) for the before/after slider."""
    if image is None or output is None:
        return None
    from .uploads import upload_path

    picture = open_upload(image, "Upload an image to upscale.")
    after = upload_path(output)  # a path, or the output component's payload (the event runs with preprocess=False)
    with Image.open(after) as out:
        size = out.size
    before = display_copy(picture).resize(size, Image.BICUBIC)
    return before, after


def details_text(name: str) -> str:
    info = zoo.info(name)
    text = model_details(info, f"x{info.options.scale}")
    if info.options.interpolate_with and interpolation_partner(info) is None:
        text += f"  \n*Network interpolation with `{info.options.interpolate_with}` needs both models on this server.*"
    return text


def on_model_change(name: str) -> tuple[Any, Any, Any, str]:
    """Updates for (tile slider, outscale slider, interpolation slider, details) on a new model."""
    with user_errors():
        info = zoo.info(name)
    partner = interpolation_partner(info)
    if partner is not None:
        interp = gr.update(visible=True, interactive=True, label=interpolation_label(info, partner), info=info.options.interpolate_label,
                           value=0.0)
    else:
        interp = gr.update(visible=False, interactive=False, value=0.0)
    outscale = gr.update(value=float(info.options.scale)) if info.options.scale else gr.update()
    return gr.update(value=AUTO_TILE), outscale, interp, details_text(name)


def interpolation_label(info: ModelInfo, partner: ModelInfo) -> str:
    return f"Network interpolation: 0 = {info.name}, 1 = {partner.name}"


def refresh_choices(name: str) -> tuple[Any, str]:
    """Dropdown choices with fresh offline labels (a model may have been downloaded meanwhile)."""
    return gr.update(choices=model_choices("upscale"), value=name), details_text(name)


def example_files() -> list[str]:
    return example_paths(EXAMPLES_DIR, EXAMPLES)


# -- layout --------------------------------------------------------------------------------------


def build_tab() -> gr.Tab:
    """The Upscale tab; call inside a ``gr.Blocks`` context."""
    choices, default = choices_and_default("upscale", DEFAULT_MODEL)
    info = zoo.info(default) if default else None
    partner = interpolation_partner(info) if info else None

    with gr.Tab(LABEL, id="upscale") as tab:
        gr.Markdown("Super-resolution with ESRGAN-family models. Large images run in tiles with enough context "
                    "to leave no seams; alpha is kept (upscaled by the model or resized).")
        with gr.Row():
            with gr.Column(scale=1):
                image_in = gr.Image(elem_id="upscale-input", label=f"Input image ({limit_note()})", type="filepath", image_mode=None,
                                    sources=["upload", "clipboard"], height=280)
                model = gr.Dropdown(choices=choices, value=default, label="Model", interactive=True, elem_id="upscale-model")
                details = gr.Markdown(details_text(default) if default else "")
                tile = gr.Number(value=AUTO_TILE, precision=0, minimum=-1, maximum=8192, elem_id="upscale-tile",
                                 label="Tile size (input pixels; -1 = planned from the memory budget, 0 = one pass)")
                outscale = gr.Slider(1, 8, value=DEFAULT_OUTSCALE, step=0.5, label="Output scale")
                alpha = gr.Radio(ALPHA_CHOICES, value="model", label="Alpha channel")
                interpolation = gr.Slider(
                    0.0, 1.0, value=0.0, step=0.05,
                    label=interpolation_label(info, partner) if partner is not None else "Network interpolation",
                    info=info.options.interpolate_label if partner is not None else None,
                    visible=partner is not None, interactive=partner is not None, elem_id="upscale-interpolation",
                )
                plan_md = gr.Markdown(f"Upload an image ({limit_note()}).", elem_id="upscale-plan")
                with gr.Row():
                    run = gr.Button("Upscale", variant="primary", elem_id="upscale-run")
                    stop = gr.Button("Stop", variant="secondary", elem_id="upscale-stop", visible=False)
            with gr.Column(scale=2):
                slider = gr.ImageSlider(label="Before (bicubic) / after", type="pil", interactive=False, height=420)
                image_out = gr.Image(elem_id="upscale-output", label="Upscaled image (full resolution PNG)", type="filepath",
                                     interactive=False, buttons=["download", "fullscreen"], height=320)
        examples = example_files()
        if examples:
            gr.Examples(examples=[[p] for p in examples], inputs=[image_in], label="Examples (small crops of scikit-image photos)")

        plan_inputs = [image_in, model, tile, outscale, alpha]
        for control in (image_in, tile, outscale, alpha):
            control.change(plan_text, inputs=plan_inputs, outputs=plan_md, api_visibility="private", queue=False)
        model.change(on_model_change, inputs=model, outputs=[tile, outscale, interpolation, details], api_visibility="private").then(
            plan_text, inputs=plan_inputs, outputs=plan_md, api_visibility="private")
        tab.select(refresh_choices, inputs=model, outputs=[model, details], api_visibility="private")
        job = run_button(run, stop, upscale, inputs=[image_in, model, tile, outscale, alpha, interpolation], outputs=image_out,
                         task="upscale", api_name="upscale", clear=[image_out, slider])
        job.success(comparison, inputs=[image_in, image_out], outputs=slider, api_visibility="private", preprocess=False)
    return tab
