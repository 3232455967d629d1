"""The Generate tab: StyleGAN2 images from a seed, with truncation, style mixing and noise mode.

Endpoint ``/generate`` (gradio_client) is callable with no arguments: every control has a default.
Sliders move W along the model's top unlabelled directions (SeFa or GANSpace, computed once per
model and cached); a preview strip shows what one direction does before it is named. A photo can
be projected into the model (``/project``, the official projector's schedule, with the best
distance that is here: LPIPS-VGG once imported, else the model's own discriminator when its pickle
held one, else pixels; the summary names it); the sliders then edit the projected latent.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
from PIL import Image

import zoo
from zoo.errors import ZooError

from . import settings
from .common import choices_and_default, load_model, model_choices, model_details, offline_default, task_info, user_errors
from .runs import Run, flops_per_unit, save_result
from .uploads import limit_note, open_upload

LABEL = "Generate"  # the tab's title

PREFERRED_MODEL = "stylegan2-ffhq"  # the released default, used whenever it is here
DEFAULT_MODEL = offline_default("generate", PREFERRED_MODEL)  # else a model that works offline (bundled demo weights)
METHOD_CHOICES = [("SeFa (closed-form, from the weights)", "sefa"), ("GANSpace (PCA of sampled W, in std units)", "ganspace")]
SLIDERS = 5  # directions 0..4 of the chosen method
NOISE_CHOICES = [("Constant (the stored noise maps)", "const"), ("None", "none"), ("Random (drawn from the seed)", "random")]

EXAMPLES = ((0, 1.0, -1), (7, 0.7, -1), (42, 0.5, 7))  # (seed, psi, mix seed): plain, truncated, mixed
PROJECT_STEPS = 100  # the app's default (the official projector runs 1000; ~1.3 s a step at 256 px here)


def layer_count(name: str) -> int:
    """W+ layers of entry ``name``'s synthesis network (2 per resolution from 4 px, minus 2: 18 at 1024 px)."""
    import math

    resolution = int(zoo.info(name).options.resolution or 1024)
    return 2 * int(math.log2(resolution)) - 2


DEFAULT_LAYERS = layer_count(DEFAULT_MODEL) if DEFAULT_MODEL else 18


def get_generator(run: Run, name: str) -> Any:
    """The generator ``name`` from the shared cache (loaded with the run saying so)."""
    return load_model(run, task_info(name, "generate", "an image generator"))


def generate(
    model: str = DEFAULT_MODEL,
    seed: float = 0,
    psi: float = 1.0,
    cutoff: float = 0,
    noise_mode: str = "const",
    class_index: float = 0,
    mix_seed: float = -1,
    mix_layer: float = DEFAULT_LAYERS // 2,
    method: str = "sefa",
    d0: float = 0.0,
    d1: float = 0.0,
    d2: float = 0.0,
    d3: float = 0.0,
    d4: float = 0.0,
    edit_first: float = 0,
    edit_last: float = DEFAULT_LAYERS,
    projected: dict | None = None,
    progress: gr.Progress = gr.Progress(),
) -> str:
    """The image of ``seed`` from registry model ``model``, as the path of a PNG file.

    ``cutoff`` 0 truncates every layer; ``mix_seed`` -1 means no style mixing; ``class_index`` is
    used by conditional models only; ``d0``..``d4`` move along directions 0..4 of ``method`` on W+
    layers ``edit_first`` to ``edit_last`` (capped at the model's layer count).
    """
    with user_errors():
        for value, what in ((seed, "seed"), (cutoff, "cutoff"), (class_index, "class"), (mix_seed, "mix seed"), (mix_layer, "mix layer"),
                            (edit_first, "first edited layer"), (edit_last, "last edited layer")):
            if float(value) != int(value):
                raise ZooError(f"{what} must be a whole number, not {value}")
        run = Run(progress, "Generating", "images")
        generator = get_generator(run, model)
        edits = {f"{method}{i}": float(a) for i, a in enumerate((d0, d1, d2, d3, d4)) if float(a) != 0.0}
        layers = (int(edit_first), min(int(edit_last), generator.num_ws))
        with run.computing(model, flops_per_unit(generator.info) * (1 + (int(mix_seed) >= 0))):
            if projected and projected.get("model") == model:  # edit the projected photo instead of a seed
                image = generator.render(generator.edit(projected["ws"], edits, layers), noise=projected["noise"])
                return save_result(image, "projected", model)
            image = generator(
                int(seed), psi=float(psi), cutoff=int(cutoff) or None, noise_mode=noise_mode,
                class_index=int(class_index) if generator.c_dim else None,
                mix_seed=None if int(mix_seed) < 0 else int(mix_seed), mix_layer=int(mix_layer) if int(mix_seed) >= 0 else None,
                edits=edits, edit_layers=layers,
            )
        return save_result(image, model, f"seed{int(seed)}", f"psi{float(psi):g}" if float(psi) != 1.0 else "")


def project_photo(photo: Any, model: str = DEFAULT_MODEL, steps: float = PROJECT_STEPS, space: str = "w",
                  progress: gr.Progress = gr.Progress()) -> tuple[str, dict, str]:
    """Project ``photo`` into ``model`` (W or W+): (its image as a PNG path, the latent for the sliders, a summary)."""
    picture = open_upload(photo, "Upload a photo to project.")
    with user_errors():
        if float(steps) != int(steps):
            raise ZooError(f"steps must be a whole number, not {steps}")
        run = Run(progress, "Projecting", "steps")
        generator = get_generator(run, model)

        def report(done: int, total: int, dist: float) -> None:
            run.step(done, total, f" · distance {dist:.4g}")

        # a step is a forward and a backward pass of the generator (and of the distance's network)
        with run.computing(model, 3 * flops_per_unit(generator.info) * int(steps), int(steps)):
            found = generator.project(picture, steps=int(steps), space=space, progress=report)
        summary = (f"{space.upper()}, {int(steps)} steps, distance: {found.distance} (final {found.losses[-1]:.4g}), "
                   f"{found.seconds_per_step:.2f} s/step. The sliders now edit this photo; clear it to go back to seeds.")
        state = {"model": model, "ws": found.ws, "noise": found.noise}
        return save_result(generator.render(found.ws, noise=found.noise), "projected", model), state, summary


def clear_projection() -> tuple[None, str]:
    return None, "Sliders edit the seed's image."


def preview(model: str = DEFAULT_MODEL, method: str = "sefa", index: float = 0, seed: float = 0,
            progress: gr.Progress = gr.Progress()) -> list[Image.Image]:
    """The strip of direction ``index`` of ``method``: the seed's image moved from -3 to +3."""
    with user_errors():
        if float(index) != int(index) or float(seed) != int(seed):
            raise ZooError("direction index and seed must be whole numbers")
        run = Run(progress, "Drawing the strip", "images")
        generator = get_generator(run, model)
        with run.computing(model, 7 * flops_per_unit(generator.info)):
            return generator.preview(f"{method}{int(index)}", int(seed))


def details_text(name: str) -> str:
    info = zoo.info(name)
    cond = f" · conditional ({info.options.c_dim} classes)" if info.options.c_dim else ""
    return model_details(info, f"{info.options.resolution} px{cond}")


def refresh_choices(name: str | None) -> tuple[Any, str]:
    return gr.update(choices=model_choices("generate"), value=name), details_text(name) if name else ""


def on_model_change(name: str) -> tuple[str, Any, Any, Any, Any]:
    """Updates for (details, cutoff, crossover layer, first and last edited layer): the layer sliders
    follow the model's layer count."""
    with user_errors():
        n = layer_count(name)
        return (details_text(name), gr.update(maximum=n, value=0), gr.update(maximum=n - 1, value=n // 2),
                gr.update(maximum=n - 1, value=0), gr.update(maximum=n, value=n))


def build_tab() -> gr.Tab:
    """The Generate tab; call inside a ``gr.Blocks`` context."""
    choices, default = choices_and_default("generate", PREFERRED_MODEL)
    with gr.Tab(LABEL, id="generate") as tab:
        gr.Markdown("Images from NVIDIA's StyleGAN2 generators. A seed names an image (the same as NVIDIA's `generate.py`); "
                    "truncation trades variety for typicality; style mixing takes the later layers from a second seed.")
        with gr.Row():
            with gr.Column(scale=1):
                model = gr.Dropdown(choices=choices, value=default, label="Model", interactive=True)
                details = gr.Markdown(details_text(default) if default else "")
                seed = gr.Number(value=0, precision=0, minimum=0, label="Seed")
                psi = gr.Slider(-1.0, 2.0, value=1.0, step=0.05, label="Truncation ψ (1 = none, 0 = the mean face)")
                layers = layer_count(default) if default else DEFAULT_LAYERS
                cutoff = gr.Slider(0, layers, value=0, step=1, label="Truncation cutoff (0 = every layer)")
                noise_mode = gr.Radio(NOISE_CHOICES, value="const", label="Noise")
                class_index = gr.Number(value=0, precision=0, minimum=0, label="Class (conditional models only)")
                with gr.Accordion("Style mixing", open=False):
                    mix_seed = gr.Number(value=-1, precision=0, minimum=-1, label="Second seed (-1 = off)")
                    mix_layer = gr.Slider(0, layers - 1, value=layers // 2, step=1, label="Crossover layer (later layers from the second seed)")
                with gr.Accordion("Latent directions", open=True):
                    method = gr.Radio(METHOD_CHOICES, value="sefa", label="Directions")
                    amounts = [gr.Slider(-5.0, 5.0, value=0.0, step=0.25, label=f"Direction {i}") for i in range(SLIDERS)]
                    with gr.Row():
                        edit_first = gr.Slider(0, layers - 1, value=0, step=1, label="Edit from layer")
                        edit_last = gr.Slider(1, layers, value=layers, step=1, label="to layer (excluded)")
                with gr.Row():
                    run = gr.Button("Generate", variant="primary", elem_id="generate-run")
                    stop = gr.Button("Stop", variant="secondary", elem_id="generate-stop")
            with gr.Column(scale=1):
                image_out = gr.Image(elem_id="generate-output", label="Generated image (full resolution PNG)", type="filepath",
                                     interactive=False, buttons=["download", "fullscreen"], height=420)
                with gr.Accordion("Project a photo", open=False):
                    photo = gr.Image(label=f"Photo ({limit_note()})", type="filepath", image_mode=None, sources=["upload", "clipboard"],
                                     elem_id="generate-photo")
                    with gr.Row():
                        steps = gr.Slider(10, 1000, value=PROJECT_STEPS, step=10, label="Steps (official: 1000)")
                        space = gr.Radio([("W", "w"), ("W+", "w+")], value="w", label="Latent space")
                    with gr.Row():
                        do_project = gr.Button("Project")
                        clear = gr.Button("Back to seeds")
                    projected_info = gr.Markdown("Sliders edit the seed's image.")
                    projected = gr.State(None)
                with gr.Accordion("What does a direction do?", open=False):
                    with gr.Row():
                        preview_index = gr.Number(value=0, precision=0, minimum=0, maximum=15, label="Direction")
                        show = gr.Button("Preview -3 … +3")
                    strip = gr.Gallery(label="Preview strip", columns=5, height=160)
        gr.Examples(examples=[list(row) for row in EXAMPLES], inputs=[seed, psi, mix_seed], label="Examples (seed, truncation ψ, second seed)")
        slots = settings.task_slots()
        model.change(on_model_change, inputs=model, outputs=[details, cutoff, mix_layer, edit_first, edit_last], api_visibility="private")
        tab.select(refresh_choices, inputs=model, outputs=[model, details], api_visibility="private")
        make = run.click(generate, inputs=[model, seed, psi, cutoff, noise_mode, class_index, mix_seed, mix_layer, method, *amounts,
                                           edit_first, edit_last, projected], outputs=image_out, api_name="generate",
                         concurrency_id="generate", concurrency_limit=slots)
        fit = do_project.click(project_photo, inputs=[photo, model, steps, space], outputs=[image_out, projected, projected_info],
                               api_name="project", preprocess=False, concurrency_id="generate", concurrency_limit=slots)
        clear.click(clear_projection, outputs=[projected, projected_info], api_visibility="private")
        strip_job = show.click(preview, inputs=[model, method, preview_index, seed], outputs=strip, api_name="preview_direction",
                               concurrency_id="generate", concurrency_limit=slots)
        stop.click(None, cancels=[make, fit, strip_job], api_visibility="private")
    return tab
