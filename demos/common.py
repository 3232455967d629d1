"""Helpers shared by the Gradio tabs: error mapping, model labels, model cards.

Nothing here loads a model. Gradio is imported because every tab needs it anyway.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections import OrderedDict
from typing import Any, Callable, Iterator

import gradio as gr

import zoo
from zoo.errors import ZooError
from zoo.registry import ModelInfo

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n.*?^---[ \t]*\r?\n?", re.DOTALL | re.MULTILINE)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn a ``ZooError`` (or a ``ValueError`` from bad parameters) into a ``gr.Error``.

    ``gr.Error`` is shown in the UI and raised to gradio_client callers with the same one-line
    message. Anything else is a bug and propagates as it is.
    """
    try:
        yield
    except gr.Error:
        raise
    except (ZooError, ValueError) as exc:
        raise user_error(one_line(exc)) from exc


def user_error(message: str) -> gr.Error:
    """A ``gr.Error`` for a user's mistake: shown in the UI and to clients, no server traceback."""
    return gr.Error(message, print_exception=False)


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line (the type name when the message is empty)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def available_offline(info: ModelInfo) -> bool:
    """``zoo.weights.available_locally``, never raising (a broken entry counts as unavailable)."""
    from zoo import weights

    try:
        return weights.available_locally(info)
    except Exception:  # noqa: BLE001  (a label must not break the UI)
        return False


def task_model(cache: "ModelCache", name: str, task: str, noun: str) -> Any:
    """The loaded ``task`` model ``name`` from ``cache``; a one-line error if the entry is another task's."""
    info = zoo.info(name)
    if info.task != task:
        raise ZooError(f"{name} is a {info.task} model, not {noun}")
    return cache.get(name)


def model_label(info: ModelInfo) -> str:
    """Dropdown label: title, name and whether the model works with no network."""
    where = "works offline" if available_offline(info) else "needs download"
    return f"{info.title} ({info.name}) · {where}"


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


class ModelCache:
    """The last ``size`` loaded task objects by name, plus the last interpolated blend (upscalers).

    Thread-safe: Gradio runs events in worker threads.
    """

    def __init__(self, size: int = 2, loader: Callable[[str], Any] | None = None) -> None:
        self.size = size
        self._loader = loader or (lambda name: zoo.load(name, device="cpu"))
        self._models: OrderedDict[str, Any] = OrderedDict()
        self._blend: tuple[tuple[str, str, float], Any] | None = None
        self._lock = threading.RLock()

    def peek(self, name: str) -> Any | None:
        with self._lock:
            return self._models.get(name)

    def names(self) -> list[str]:
        with self._lock:
            return list(self._models)

    def get(self, name: str) -> Any:
        """The task object for registry entry ``name`` (loaded on first use)."""
        with self._lock:
            if name in self._models:
                self._models.move_to_end(name)
                return self._models[name]
            model = self._loader(name)
            self._models[name] = model
            while len(self._models) > self.size:
                self._models.popitem(last=False)
            return model

    def get_blend(self, name: str, partner: str, alpha: float) -> Any:
        """``name`` interpolated toward ``partner`` by ``alpha`` (0 = ``name``, 1 = ``partner``)."""
        key = (name, partner, round(float(alpha), 4))
        with self._lock:
            if self._blend is not None and self._blend[0] == key:
                return self._blend[1]
            base = self.get(name)
            other = self.get(partner)
            blended = base.interpolate(other, key[2])
            self._blend = (key, blended)
            return blended

    def clear(self) -> None:
        with self._lock:
            self._models.clear()
            self._blend = None
