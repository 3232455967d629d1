"""Helpers shared by the Gradio tabs: errors, model choices, labels and details, model cards.

Nothing here loads a model. Gradio is imported because every tab needs it anyway.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any, Iterator

import gradio as gr

import zoo
from zoo.errors import ZooError
from zoo.registry import ModelInfo

from . import messages, settings
from .messages import user_error  # the page's error: tabs import it from here

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n.*?^---[ \t]*\r?\n?", re.DOTALL | re.MULTILINE)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn a ``ZooError`` (or a ``ValueError`` from bad parameters) into a ``gr.Error`` in the
    page's words (``messages.for_people``), shown until closed and sent to gradio_client callers.
    Anything else is a bug and propagates as it is."""
    try:
        yield
    except gr.Error:
        raise
    except ZooError as exc:
        raise user_error(messages.for_people(exc)) from exc
    except ValueError as exc:
        if raised_inside_a_network(exc):  # a shape mismatch in a forward pass is a bug, not the visitor's mistake
            raise
        raise user_error(messages.for_people(exc)) from exc


def raised_inside_a_network(exc: BaseException) -> bool:
    """Whether ``exc`` was raised by a network's own code (``zoo/archs``) or by torch."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = tb.tb_frame.f_code.co_filename.replace("\\", "/") if tb is not None else ""
    return "/zoo/archs/" in where or "/torch/" in where


def available_offline(info: ModelInfo) -> bool:
    """``zoo.weights.available_locally``, never raising (a broken entry counts as unavailable)."""
    from zoo import weights

    try:
        return weights.available_locally(info)
    except Exception:  # noqa: BLE001  (a label must not break the UI)
        return False


def task_info(name: str, task: str, noun: str) -> ModelInfo:
    """The registry entry ``name`` of ``task``, checked to be usable on this server now."""
    info = zoo.info(name)
    if info.task != task:
        raise ZooError(f"{name} is a {info.task} model, not {noun}")
    if not available_offline(info) and not settings.downloads_allowed():
        raise user_error(messages.model_not_here(info))
    return info


def load_model(run: Any, info: ModelInfo) -> Any:
    """``info``'s task object from the shared cache, loading it (with the run saying so) when needed."""
    from .models import MODELS

    return run.load(info.title, lambda: MODELS.get(info.name), loaded=MODELS.peek(info.name) is not None)


def model_label(info: ModelInfo) -> str:
    """Dropdown label: the name and whether the model is on this server."""
    return f"{info.name} · {'offline' if available_offline(info) else 'needs download'}"


def where_weights(info: ModelInfo) -> str:
    """Where ``info``'s weights are for this server: ``here``, ``download`` (fetched on first use or
    with the Model zoo's button) or ``missing`` (not here, and this server does not download)."""
    if available_offline(info):
        return "here"
    return "download" if settings.downloads_allowed() else "missing"


def model_details(info: ModelInfo, extra: str = "") -> str:
    """The details line under a tab's model list: title, licence, where the weights are, demo note."""
    where = {"here": "on this server", "download": "downloaded on first use", "missing": "not on this server"}[where_weights(info)]
    terms = " (non-commercial)" if "NC" in info.licence else ""
    extra = f" · {extra}" if extra else ""
    return f"**{info.title}** · licence {info.licence}{terms} · {where}{extra}  \n{info.description}{weights_note(info)}"


def weights_note(info: ModelInfo) -> str:
    """What the details line says about the weights: the demo weights bundled with gan-zoo, or none."""
    from zoo.catalog.bundled import is_demo

    if not is_demo(info):
        return ""
    return ("  \n*Demo-quality weights bundled with gan-zoo, trained on a CPU with offline data (the model card gives the "
            "data, the training command and the measured quality). Import the released weights for real results.*")


def model_choices(task: str) -> list[tuple[str, str]]:
    """(label, name) pairs of every registry entry of ``task``, in registry order."""
    return [(model_label(m), m.name) for m in zoo.list_models(task=task)]


def offline_default(task: str, preferred: str) -> str:
    """A tab's default model: ``zoo.weights.local_default`` (``preferred`` when it works offline,
    else the first entry of ``task`` that does, e.g. the bundled demo weights)."""
    from zoo import weights

    return weights.local_default(task, preferred)


def choices_and_default(task: str, preferred: str) -> tuple[list[tuple[str, str]], str | None]:
    """The dropdown choices of ``task`` and its initial value (``offline_default``; None when the
    task has no entry at all)."""
    choices = model_choices(task)
    names = [name for _, name in choices]
    default = offline_default(task, preferred)
    return choices, default if default in names else (names[0] if names else None)


def run_button(run: gr.Button, stop: gr.Button, fn: Any, *, inputs: list, outputs: Any, task: str,
               api_name: str | None = None, clear: list | None = None) -> Any:
    """Wire a task tab's Run and Stop buttons; returns the run's event (for ``.success``).

    Run first empties ``clear`` (default: the outputs: no stale result during a run or after an
    error) and shows Stop; then ``fn`` runs in the task's queue group with the raw uploads
    (``preprocess=False``, see ``uploads``); Stop cancels it and hides itself again."""
    from . import settings

    targets = clear if clear is not None else (outputs if isinstance(outputs, list) else [outputs])
    started = run.click(lambda: [None] * len(targets) if len(targets) > 1 else None, outputs=targets,
                        api_visibility="private", queue=False)
    started.then(show, outputs=stop, api_visibility="private", queue=False)
    job = started.then(fn, inputs=inputs, outputs=outputs, preprocess=False, concurrency_id=task,
                       concurrency_limit=settings.task_slots(),
                       **({"api_name": api_name} if api_name else {"api_visibility": "private"}))
    job.then(hide, outputs=stop, api_visibility="private", queue=False)
    stop.click(hide, outputs=stop, cancels=[job], api_visibility="private", queue=False)
    return job


def example_paths(folder: Any, names: tuple[str, ...]) -> list[str]:
    """The example files ``names`` in ``folder`` that are present, in that order."""
    return [str(folder / name) for name in names if (folder / name).is_file()]


def show() -> Any:
    """Update: make a component visible (the Stop button while a run is going)."""
    return gr.update(visible=True)


def hide() -> Any:
    """Update: hide a component again."""
    return gr.update(visible=False)


def strip_front_matter(text: str) -> str:
    """A Markdown card without its YAML front matter."""
    return _FRONT_MATTER.sub("", text, count=1).lstrip("\n")


def card_markdown(info: ModelInfo) -> str:
    """The model card of ``info`` for display (front matter stripped), or a short stand-in."""
    from zoo.cards import read_card

    text = read_card(info.card) if info.card else None
    if not text:
        return f"# {info.title}\n\n{info.description}\n\n*(No model card is installed for `{info.name}`.)*"
    return strip_front_matter(text)
