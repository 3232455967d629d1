"""The **Translate** tab: pix2pix / CycleGAN image-to-image translation.

Event for gradio_client: ``/translate`` (image, model, direction, size, test_mode) -> the
translated image (a PNG file named after the input, the model and the direction). Only ``image``
is required; the others default to the initial values of their controls (the tab's default model,
its first direction, size "auto", the model's own test mode).

The default model is the released ``cyclegan-horse2zebra`` when it is here, else a model that
works offline (the bundled demo weights); the examples are photos, which every offline default
takes. Models load on first use into the app's shared cache (``models.MODELS``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

import zoo
from zoo.errors import ZooError
from zoo.registry import ModelInfo

from . import messages, settings
from .common import choices_and_default, example_paths, load_model, model_choices, model_details, offline_default, run_button, task_info, user_errors
from .runs import Run, duration, expected_seconds, flops_per_unit, save_result, stem_of
from .uploads import header_size, limit_note, open_upload

LABEL = "Translate"  # the tab's title

PREFERRED_MODEL = "cyclegan-horse2zebra"  # the released default, used whenever it is here
DEFAULT_MODEL = offline_default("translate", PREFERRED_MODEL)  # else a model that works offline (bundled demo weights)
SIZE_CHOICES = [
    ("Auto (training scale for U-Nets, native for ResNets)", "auto"),
    ("Training scale (short side to 256, translate, resize back)", "trained"),
    ("Native resolution (tiled when large)", "native"),
]
TEST_MODE_CHOICES = [
    ("Model default", "default"),
    ("Official (batch statistics of this image)", "official"),
    ("Eval (running statistics)", "eval"),
]
EXAMPLES_DIR = Path(__file__).parent / "examples"
# grayscale photos for the colorizer (the offline default), colour ones for photo-to-X models
EXAMPLES = ("gray-astronaut.jpg", "gray-coffee.jpg", "astronaut.jpg")


def direction_choices(info: ModelInfo) -> list[tuple[str, str]]:
    """(label, value) per direction, e.g. ("horse photo → zebra photo (horse2zebra)", "AtoB")."""
    return [(f"{d.label()} ({d.official_name})" if d.official_name else d.label(), d.name) for d in info.directions]


def plan(info: ModelInfo, size: tuple[int, int], mode: str) -> tuple[tuple[int, int], float]:
    """(output size, network FLOPs) of translating an image of ``size``: the network runs at the
    training scale (short side to the entry's resolution) or at the native size."""
    from zoo.archs import describe

    d = describe(info.arch, info.arch_kwargs)
    width, height = size
    if mode == "auto":
        mode = "trained" if d.context is None else "native"
    pixels = float(width * height)
    if mode == "trained":
        side = float(info.options.resolution or 256)
        pixels = side * side * max(width, height) / max(1, min(width, height))
    return size, pixels * flops_per_unit(info)


def plan_text(image: Any, model: str, size: str = "auto") -> str:
    """The output size and the time to expect here, shown before the run."""
    dims = header_size(image)
    if dims is None or not model:
        return f"Upload an image ({limit_note()})."
    try:
        info = zoo.info(model)
        limit = settings.max_megapixels()
        if dims[0] * dims[1] > limit * 1e6:
            return messages.too_large(*dims, limit)
        out, flops = plan(info, dims, size)
    except (ZooError, ValueError) as exc:
        return messages.for_people(exc)
    return f"Output **{out[0]}×{out[1]}** · {duration(expected_seconds(info.name, flops))} here."


def translate(
    image: Any,
    model: str = DEFAULT_MODEL,
    direction: str | None = None,
    size: str = "auto",
    test_mode: str = "default",
    progress: gr.Progress = gr.Progress(),
) -> str:
    """Translate ``image`` with registry model ``model`` in ``direction`` ("AtoB" / "BtoA", None = the
    first); returns the path of the PNG result.

    ``size``: "auto", "trained" or "native"; ``test_mode``: "default" (the model's), "official" or "eval".
    """
    picture = open_upload(image, "Upload an image to translate.")
    run = Run(progress, "Translating", "tiles")
    with user_errors():
        if test_mode not in ("default", "official", "eval"):
            raise ValueError(f"test_mode must be 'default', 'official' or 'eval', not {test_mode!r}")
        info = task_info(model, "translate", "a translator")
        translator = load_model(run, info)
        wanted = translator.test_mode_default if test_mode == "default" else test_mode
        if wanted and wanted != translator.test_mode:
            translator.set_test_mode(wanted)
        with run.computing(info.name, plan(info, picture.size, size)[1]):
            result = translator(picture, direction=direction or None, size=size, progress=run.step,
                                max_megapixels=settings.max_megapixels())
        chosen = direction or (info.directions[0].name if info.directions else "")
        named = next((d.official_name for d in info.directions if d.name == chosen and d.official_name), chosen)
        return save_result(result, stem_of(image), info.name, named if len(info.directions) > 1 else "")


def details_text(name: str) -> str:
    info = zoo.info(name)
    directions = "; ".join(label for label, _ in direction_choices(info))
    return model_details(info, f"test mode {info.options.test_mode}") + f"  \nDirections: {directions}"


def on_model_change(name: str) -> tuple[Any, str]:
    """Updates for (direction radio, details) on a new model."""
    with user_errors():
        info = zoo.info(name)
    choices = direction_choices(info)
    return gr.update(choices=choices, value=choices[0][1] if choices else None), details_text(name)


def refresh_choices(name: str) -> tuple[Any, str]:
    return gr.update(choices=model_choices("translate"), value=name), details_text(name)


def example_files() -> list[str]:
    return example_paths(EXAMPLES_DIR, EXAMPLES)


def build_tab() -> gr.Tab:
    """The Translate tab; call inside a ``gr.Blocks`` context."""
    choices, default = choices_and_default("translate", PREFERRED_MODEL)
    info = zoo.info(default) if default else None
    directions = direction_choices(info) if info else []

    with gr.Tab(LABEL, id="translate") as tab:
        gr.Markdown("Image-to-image translation with pix2pix and CycleGAN generators. "
                    "Pick the direction; any image size works (see *Size*), alpha is kept.")
        with gr.Row():
            with gr.Column(scale=1):
                image_in = gr.Image(elem_id="translate-input", label=f"Input image ({limit_note()})", type="filepath", image_mode=None,
                                    sources=["upload", "clipboard"], height=320)
                model = gr.Dropdown(choices=choices, value=default, label="Model", interactive=True, elem_id="translate-model")
                details = gr.Markdown(details_text(default) if default else "")
                direction = gr.Radio(directions, value=directions[0][1] if directions else None, label="Direction")
                size = gr.Radio(SIZE_CHOICES, value="auto", label="Size")
                test_mode = gr.Radio(TEST_MODE_CHOICES, value="default", label="Normalisation at test time")
                plan_md = gr.Markdown(f"Upload an image ({limit_note()}).", elem_id="translate-plan")
                with gr.Row():
                    run = gr.Button("Translate", variant="primary", elem_id="translate-run")
                    stop = gr.Button("Stop", variant="secondary", elem_id="translate-stop", visible=False)
            with gr.Column(scale=1):
                image_out = gr.Image(elem_id="translate-output", label="Translated image (full resolution PNG)", type="filepath",
                                     interactive=False, buttons=["download", "fullscreen"], height=320)
        examples = example_files()
        if examples:
            gr.Examples(examples=[[p] for p in examples], inputs=[image_in], label="Example photos (grayscale ones to colorize)")

        for control in (image_in, size):
            control.change(plan_text, inputs=[image_in, model, size], outputs=plan_md, api_visibility="private", queue=False)
        model.change(on_model_change, inputs=model, outputs=[direction, details], api_visibility="private").then(
            plan_text, inputs=[image_in, model, size], outputs=plan_md, api_visibility="private")
        tab.select(refresh_choices, inputs=model, outputs=[model, details], api_visibility="private")
        run_button(run, stop, translate, inputs=[image_in, model, direction, size, test_mode], outputs=image_out, task="translate",
                   api_name="translate")
    return tab
