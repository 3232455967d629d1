"""The models the app has loaded: one shared, thread-safe LRU capped by the memory of the weights.

Every tab asks ``MODELS.get(name)``; a model is loaded once and shared by all requests and tabs.
Loading happens outside the cache's lock, under a lock of that name only, so a slow load (a large
checkpoint, a first conversion) never blocks requests for models already loaded, and two requests
for the same new model load it once. When the weights held pass the budget
(``settings.model_memory_bytes``) the least recently used models are dropped (a request still
running on one keeps its own reference until it ends).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable

import zoo

from . import settings


def footprint(model: Any) -> int:
    """Bytes of the parameters and buffers of every ``torch.nn.Module`` a task object holds
    (``.net``, a dict of nets, companions already loaded), each tensor counted once."""
    import torch

    seen: set[int] = set()
    total = 0

    def modules(value: Any):
        if isinstance(value, torch.nn.Module):
            yield value
        elif isinstance(value, dict):
            for item in value.values():
                yield from modules(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                yield from modules(item)

    for value in vars(model).values():
        for module in modules(value):
            for tensor in [*module.parameters(), *module.buffers()]:
                if id(tensor) not in seen:
                    seen.add(id(tensor))
                    total += tensor.numel() * tensor.element_size()
    return total


class ModelCache:
    """Loaded task objects by key, least recently used first, within ``budget`` bytes of weights."""

    def __init__(self, budget: int | None = None, loader: Callable[[str], Any] | None = None) -> None:
        self.budget = settings.model_memory_bytes() if budget is None else int(budget)
        self._loader = loader or (lambda name: zoo.load(name, device="cpu"))
        self._models: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._loading: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    # -- reading ---------------------------------------------------------------------------------

    def peek(self, key: str) -> Any | None:
        """The model under ``key`` if it is loaded (its place in the LRU order unchanged)."""
        with self._lock:
            entry = self._models.get(key)
            return entry[0] if entry else None

    def names(self) -> list[str]:
        """Keys of the loaded models, least recently used first."""
        with self._lock:
            return list(self._models)

    def held_bytes(self) -> int:
        with self._lock:
            return sum(size for _, size in self._models.values())

    # -- loading ---------------------------------------------------------------------------------

    def get(self, name: str) -> Any:
        """The task object of registry entry ``name``, loaded on first use."""
        return self.get_or_make(name, lambda: self._loader(name))

    def get_or_make(self, key: str, make: Callable[[], Any]) -> Any:
        """The object under ``key``; ``make()`` builds it when absent, outside the cache's lock and
        once however many requests ask for it at the same time."""
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key][0]
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:  # another request may have finished loading it meanwhile
                if key in self._models:
                    self._models.move_to_end(key)
                    return self._models[key][0]
            try:
                model = make()
            finally:
                with self._lock:
                    self._loading.pop(key, None)
            size = footprint(model)
            with self._lock:
                self._models[key] = (model, size)
                self._models.move_to_end(key)
                self._evict(keep=key)
            return model

    @staticmethod
    def blend_key(name: str, partner: str, alpha: float) -> str:
        """The key a blend is kept under (alpha rounded to 4 decimals)."""
        return f"{name}~{partner}@{round(float(alpha), 4):g}"

    def get_blend(self, name: str, partner: str, alpha: float) -> Any:
        """``name`` interpolated toward ``partner`` by ``alpha`` (0 = ``name``, 1 = ``partner``)."""
        alpha = round(float(alpha), 4)
        return self.get_or_make(self.blend_key(name, partner, alpha), lambda: self.get(name).interpolate(self.get(partner), alpha))

    def _evict(self, keep: str) -> None:
        """Drop least recently used models until the weights fit the budget (``keep`` stays)."""
        held = sum(size for _, size in self._models.values())
        for key in [k for k in self._models if k != keep]:  # oldest first
            if held <= self.budget:
                break
            held -= self._models.pop(key)[1]

    def clear(self) -> None:
        with self._lock:
            self._models.clear()


MODELS = ModelCache()  # the app's one cache, shared by every tab
