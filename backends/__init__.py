"""Backends that execute a :class:`spikemem.spec.Network`: a registry, with lazy imports.

Importing this package imports no simulator: each backend module imports its
simulator inside ``available()`` and ``compile()``.

>>> from spikemem.backends import get_backend
>>> sim = get_backend("reference").compile(network)      # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

from spikemem.backend import Backend

_REGISTRY: dict[str, str] = {
    "reference": "spikemem.backends.reference:ReferenceBackend",
    "brian2": "spikemem.backends.brian2_backend:Brian2Backend",
    "snntorch": "spikemem.backends.snntorch_backend:SnnTorchBackend",
    "lava": "spikemem.backends.lava_backend:LavaBackend",
}


def backend_names() -> list[str]:
    """Names of every registered backend, the numpy reference first."""
    return list(_REGISTRY)


def get_backend(name: str, **options: Any) -> Backend:
    """The backend called ``name``, configured with ``options``.

    Raises
    ------
    KeyError
        No backend has that name (the message lists the known names).
    """
    if name not in _REGISTRY:
        raise KeyError(f"unknown backend {name!r}; choose one of {backend_names()}")
    module_name, class_name = _REGISTRY[name].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(options=dict(options))


def register_backend(name: str, target: str) -> None:
    """Register a third-party backend as ``"package.module:ClassName"``."""
    _REGISTRY[name] = target


__all__ = ["backend_names", "get_backend", "register_backend"]
