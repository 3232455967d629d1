"""The training loop every recipe runs in: resume, steps with a progress bar, sample grids, export.

A run lives in one folder::

    RUN/checkpoint.pt      every network, optimiser and recipe state, the step and the wall time
    RUN/samples/step_000200.png
    RUN/model/             the export: model.safetensors + config.json + README.md (the card);
                           CycleGAN: RUN/model/AtoB and RUN/model/BtoA

Starting again in the same folder resumes from ``checkpoint.pt``: the data of a step is a pure
function of (seed, step) (``zoo.train.data``) and every random draw of a recipe comes from a
generator seeded the same way, so a run split across several processes ends in the same state as
one uninterrupted run. ``steps`` may grow on resume; the other options must not change. The
checkpoint is read with ``torch.load(weights_only=True)``: nothing in it is executed. Ctrl-C
saves the current step before stopping.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import platform
import time
from pathlib import Path
from typing import Any

import torch

from ..atomic import replace_file
from ..errors import ZooError
from . import RECIPES
from .processes import Processes
from .recipe import Recipe, TrainOptions

CHECKPOINT = "checkpoint.pt"
CHECKPOINT_FORMAT = 1
SAMPLE_SLOT_STEP = -1  # the fixed batch of the sample grids is drawn as "step -1"
SAMPLE_COUNT = 8


def recipe_class(name: str) -> type[Recipe]:
    if name not in RECIPES:
        raise ZooError(f"unknown recipe {name!r}; known: {', '.join(RECIPES)}")
    return importlib.import_module(f"zoo.train.recipes.{name}").RECIPE


def hardware(procs: Processes) -> str:
    if procs.device.type == "cuda":
        what = torch.cuda.get_device_name(procs.device)
    else:
        threads = torch.get_num_threads()
        what = f"{platform.machine()} CPU ({os.cpu_count()} cores), {threads} thread{'s' if threads > 1 else ''}"
    return f"{what} x {procs.world} process{'es' if procs.world > 1 else ''}"


def _save_grid(images: torch.Tensor, path: Path) -> None:
    from torchvision.utils import save_image

    with replace_file(path) as tmp:
        save_image((images.float().clamp(-1, 1) + 1) / 2, str(tmp), nrow=min(8, len(images)), format="png")


def _checkpoint(recipe: Recipe, step: int, wall: float, trained_on: list[str]) -> dict[str, Any]:
    return {
        "format": CHECKPOINT_FORMAT,
        "recipe": recipe.name,
        "options": recipe.options.as_json(),
        "step": step,
        "wall_seconds": wall,
        "hardware": trained_on,
        "nets": {k: v.state_dict() for k, v in recipe.nets.items()},
        "optims": {k: v.state_dict() for k, v in recipe.optims.items()},
        "extra": recipe.extra_state(),
    }


def save_checkpoint(recipe: Recipe, run: Path, step: int, wall: float, trained_on: list[str]) -> None:
    with replace_file(run / CHECKPOINT) as tmp:
        torch.save(_checkpoint(recipe, step, wall, trained_on), tmp)


def load_checkpoint(run: Path) -> dict[str, Any]:
    path = run / CHECKPOINT
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001  (any unreadable file: one line, nothing deleted)
        raise ZooError(f"{path} is not a readable training checkpoint ({' '.join(str(exc).split())[:160]})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ZooError(f"{path} is not a gan-zoo training checkpoint (format {CHECKPOINT_FORMAT})")
    return state


def _check_resume(state: dict[str, Any], recipe: Recipe, path: Path) -> None:
    if state["recipe"] != recipe.name:
        raise ZooError(f"{path} belongs to a {state['recipe']} run, not {recipe.name}; use another folder")
    now = recipe.options.as_json()
    changed = [k for k, v in state["options"].items() if k not in TrainOptions.RESUMABLE_CHANGES and now.get(k) != v]
    if changed:
        k = changed[0]
        raise ZooError(f"{path} was trained with {k}={state['options'][k]!r}, not {now.get(k)!r}; only "
                       f"{', '.join(TrainOptions.RESUMABLE_CHANGES)} may change on resume")


def train(recipe_name: str, options: TrainOptions, run: Path, *, device: str | None = None, progress: bool = True,
          export: bool = True, stop_after: int | None = None) -> Path:
    """Train (or resume) ``recipe_name`` in folder ``run``; returns the export folder (``run/model``).

    ``stop_after``: stop (with a checkpoint) after this many steps of this call, so a long run can
    be split into several shorter ones; the export is written only when ``options.steps`` is reached.
    """
    from tqdm import tqdm

    cls = recipe_class(recipe_name)
    run = Path(run)
    procs = Processes.from_env(device)
    try:
        recipe = cls(options, procs)
        data = recipe.build_data()
        start, wall, trained_on = 0, 0.0, []
        if (run / CHECKPOINT).is_file():
            state = load_checkpoint(run)
            _check_resume(state, recipe, run / CHECKPOINT)
            for k, net in recipe.nets.items():
                net.load_state_dict(state["nets"][k])
            for k, opt in recipe.optims.items():
                opt.load_state_dict(state["optims"][k])
            recipe.load_extra_state(state["extra"])
            start, wall = int(state["step"]), float(state["wall_seconds"])
            trained_on = list(state.get("hardware") or [])
        elif procs.is_main:
            run.mkdir(parents=True, exist_ok=True)
        end = options.steps if stop_after is None else min(options.steps, start + stop_after)
        if end > start and hardware(procs) not in trained_on:  # where the steps of this call run
            trained_on.append(hardware(procs))
        samples = None  # the fixed batch of the sample grids, drawn when the first grid is due
        bar = tqdm(range(start, end), initial=start, total=options.steps, desc=f"{recipe.name}", unit="step",
                   disable=not (progress and procs.is_main), dynamic_ncols=True)
        begun, step = time.perf_counter(), start
        try:
            for step in bar:
                batch = recipe.to_device(data.batch(options.seed, step, procs.slots(options.batch)))
                losses = recipe.step(batch, step)
                if procs.world > 1:
                    losses = {k: procs.average_value(v) for k, v in losses.items()}
                bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items()}, refresh=False)
                done = step + 1
                if procs.is_main and options.sample_every and done % options.sample_every == 0:
                    if samples is None:
                        samples = recipe.to_device(data.batch(options.seed, SAMPLE_SLOT_STEP, range(min(SAMPLE_COUNT, options.batch))))
                    with torch.no_grad():
                        _save_grid(recipe.sample_images(samples).cpu(), run / "samples" / f"step_{done:06d}.png")
                if done % options.save_every == 0 and done < end:
                    procs.check_replicas(recipe.nets)
                    if procs.is_main:
                        save_checkpoint(recipe, run, done, wall + time.perf_counter() - begun, trained_on)
                    procs.barrier()
            step = end
        except KeyboardInterrupt:
            if procs.is_main and step > start:
                save_checkpoint(recipe, run, step, wall + time.perf_counter() - begun, trained_on)
            raise
        finally:
            bar.close()
        wall += time.perf_counter() - begun
        procs.check_replicas(recipe.nets)
        if procs.is_main and end > start:
            save_checkpoint(recipe, run, end, wall, trained_on)
        procs.barrier()
        if end < options.steps or not export:
            return run / "model"
        if procs.is_main:
            _export(recipe, run, end, wall, trained_on)
        procs.barrier()
        return run / "model"
    finally:
        procs.close()


def _export(recipe: Recipe, run: Path, steps: int, wall: float, trained_on: list[str]) -> None:
    from ..converted import CARD_FILE, write_converted
    from .card import training_card
    from .datasets import describe_source

    o = recipe.options
    name = o.name or run.name
    sources = [describe_source(s) for s in (o.data, o.data_b) if s]
    provenance = {"kind": "trained", "recipe": recipe.name, "options": o.as_json(), "steps": steps,
                  "wall_seconds": round(wall, 1), "hardware": "; ".join(trained_on) or hardware(recipe.procs), "data": sources,
                  "torch": torch.__version__}
    parts = recipe.export()
    if not o.export_companions:
        for converted in parts.values():
            converted.companions.clear()
    from ..archs import build

    parameters = sum(p.numel() for c in parts.values() for p in build(c.arch, c.arch_kwargs, meta=True).parameters())
    folders = {}
    for sub, converted in parts.items():
        folder = run / "model" / sub if sub else run / "model"
        part_name = f"{name}@{sub}" if sub else name
        write_converted(folder, converted, name=part_name, task=recipe.task, provenance=provenance,
                        card=training_card(recipe, part_name, provenance, {}, parameters))
        folders[sub] = folder
    metrics = _measured(recipe, run, steps) if o.eval_data else {}
    if metrics:
        for sub, folder in folders.items():
            part_name = f"{name}@{sub}" if sub else name
            with replace_file(folder / CARD_FILE) as tmp:
                tmp.write_text(training_card(recipe, part_name, provenance, metrics, parameters))


METRICS = "metrics.json"


def _measured(recipe: Recipe, run: Path, steps: int) -> dict[str, Any]:
    """The export's quality figures: measured now, or kept from an earlier export of the same step
    and held-out data (``RUN/metrics.json``), so writing the card again measures nothing twice."""
    import json

    key = {"step": steps, "eval_data": recipe.options.eval_data}
    try:
        kept = json.loads((run / METRICS).read_text())
        if kept.get("key") == key:
            return kept["metrics"]
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    metrics = recipe.evaluate(run / "model")
    with replace_file(run / METRICS) as tmp:
        tmp.write_text(json.dumps({"key": key, "metrics": metrics}, indent=1))
    return metrics


def options_for(recipe_name: str, **values: Any) -> TrainOptions:
    """The recipe's options with ``values`` set (unknown names are an error)."""
    cls = recipe_class(recipe_name).Options
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ZooError(f"{recipe_name} has no option {unknown[0]!r}")
    return cls(**values)
