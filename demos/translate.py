"""The **Translate** tab: pix2pix / CycleGAN image-to-image translation.

Event for gradio_client: ``/translate`` (image, model, direction, size, test_mode) -> the
translated image (a PNG file). Only ``image`` is required; the others default to the initial
values of their controls (model cyclegan-horse2zebra, its first direction, size "auto", the
model's own test mode).

Nothing is loaded when the tab is built: a model (both of its directions) is loaded on the first
request that needs it and kept in a small LRU cache (``TRANSLATORS``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

import zoo
from zoo.errors import ZooError
from zoo.registry import ModelInfo
from zoo.tasks import images

from .common import ModelCache, available_offline, choices_and_default, offline_default, model_choices, one_line, task_model, user_error, user_errors, weights_note

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
APP_MAX_MEGAPIXELS = 4.0  # the demo's input limit unless ZOO_MAX_MEGAPIXELS says otherwise
EXAMPLES_DIR = Path(__file__).parent / "examples"

TRANSLATORS = ModelCache(size=2)


def input_limit() -> float | None:
    return None if os.environ.get("ZOO_MAX_MEGAPIXELS") else APP_MAX_MEGAPIXELS


def direction_choices(info: ModelInfo) -> list[tuple[str, str]]:
    """(label, value) per direction, e.g. ("horse photo → zebra photo (horse2zebra)", "AtoB")."""
    return [(f"{d.label()} ({d.official_name})" if d.official_name else d.label(), d.name) for d in info.directions]


def get_translator(name: str) -> Any:
    return task_model(TRANSLATORS, name, "translate", "a translator")


def translate(
    image: Image.Image | None,
    model: str = DEFAULT_MODEL,
    direction: str | None = None,
    size: str = "auto",
    test_mode: str = "default",
    progress: gr.Progress = gr.Progress(),
) -> Image.Image:
    """Translate ``image`` with registry model ``model`` in ``direction`` ("AtoB" / "BtoA", None = the first).

    ``size``: "auto", "trained" or "native"; ``test_mode``: "default" (the model's), "official" or "eval".
    """
    if image is None:
        raise user_error("Upload an image to translate.")
    with user_errors():
        if test_mode not in ("default", "official", "eval"):
            raise ValueError(f"test_mode must be 'default', 'official' or 'eval', not {test_mode!r}")
        images.check_header(image, input_limit())  # size and frames before any decoding
        progress(0.0, desc=f"Loading {model}")
        translator = get_translator(model)
        wanted = translator.test_mode_default if test_mode == "default" else test_mode
        if wanted and wanted != translator.test_mode:
            translator.set_test_mode(wanted)

        def report(done: int, total: int) -> None:
            progress((done, total), desc="Translating", unit="tiles")

        return translator(image, direction=direction or None, size=size, progress=report, max_megapixels=input_limit())


def model_details(name: str) -> str:
    info = zoo.info(name)
    offline = "works offline" if available_offline(info) else "needs a download (see the Model zoo tab)"
    directions = "; ".join(label for label, _ in direction_choices(info))
    mode = f"test mode {info.options.test_mode}"
    return (f"**{info.title}** · {info.licence} · {offline} · {mode}  \n{info.description}  \nDirections: {directions}"
            f"{weights_note(info)}")


def on_model_change(name: str) -> tuple[Any, str]:
    """Updates for (direction radio, details) on a new model."""
    try:
        info = zoo.info(name)
    except ZooError as exc:
        raise user_error(one_line(exc)) from exc
    choices = direction_choices(info)
    return gr.update(choices=choices, value=choices[0][1] if choices else None), model_details(name)


def refresh_choices(name: str) -> tuple[Any, str]:
    return gr.update(choices=model_choices("translate"), value=name), model_details(name)


def example_files() -> list[str]:
    return sorted(str(p) for p in EXAMPLES_DIR.glob("*.jpg")) if EXAMPLES_DIR.is_dir() else []


def build_tab() -> gr.Tab:
    """The Translate tab; call inside a ``gr.Blocks`` context."""
    choices, default = choices_and_default("translate", PREFERRED_MODEL)
    info = zoo.info(default) if default else None
    directions = direction_choices(info) if info else []

    with gr.Tab(LABEL, id="translate") as tab:
        gr.Markdown(
            "Image-to-image translation with the released pix2pix and CycleGAN generators. "
            "Pick the direction; any image size works (see *Size*), alpha is kept."
        )
        with gr.Row():
            with gr.Column(scale=1):
                image_in = gr.Image(label="Input image", type="pil", image_mode=None, format="png", sources=["upload", "clipboard"])
                model = gr.Dropdown(choices=choices, value=default, label="Model", interactive=True)
                details = gr.Markdown(model_details(default) if default else "")
                direction = gr.Radio(directions, value=directions[0][1] if directions else None, label="Direction")
                size = gr.Radio(SIZE_CHOICES, value="auto", label="Size")
                test_mode = gr.Radio(TEST_MODE_CHOICES, value="default", label="Normalisation at test time")
                run = gr.Button("Translate", variant="primary")
            with gr.Column(scale=1):
                image_out = gr.Image(
                    label="Translated image (PNG)", type="filepath", image_mode=None, format="png", interactive=False, buttons=["download", "fullscreen"]
                )
        examples = example_files()
        if examples:
            gr.Examples(examples=[[p] for p in examples], inputs=[image_in], label="Example photos")

        model.change(on_model_change, inputs=model, outputs=[direction, details], api_visibility="private")
        tab.select(refresh_choices, inputs=model, outputs=[model, details], api_visibility="private")
        run.click(
            translate,
            inputs=[image_in, model, direction, size, test_mode],
            outputs=image_out,
            api_name="translate",
            concurrency_limit=1,
        )
    return tab
