"""Continual-learning methods, each a set of hooks into the shared training loop.

``finetune`` (plain SGD), ``hlop`` (Hebbian orthogonal projection), ``ewc``,
``gpm``, ``replay`` and ``multitask`` (joint training, the upper bound).
:func:`build_method` makes one from its name and its config table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from spikemem.continual.config import ConfigError, parse_section
from spikemem.continual.methods.base import Method
from spikemem.continual.methods.ewc import EWC, EWCConfig
from spikemem.continual.methods.gpm import GPM, GPMConfig
from spikemem.continual.methods.hlop import HLOP, HLOPConfig
from spikemem.continual.methods.multitask import Multitask
from spikemem.continual.methods.replay import Replay, ReplayConfig
from spikemem.continual.streams import TaskStream

if TYPE_CHECKING:
    from spikemem.continual.model import SpikingMLP

METHODS: dict[str, tuple[Callable[..., Method], type | None]] = {
    "finetune": (Method, None),
    "hlop": (HLOP, HLOPConfig),
    "ewc": (EWC, EWCConfig),
    "gpm": (GPM, GPMConfig),
    "replay": (Replay, ReplayConfig),
    "multitask": (Multitask, None),
}
"""Method name -> (class, config dataclass of its table, or None when it has no parameters).

The one list of methods: ``[continual] method`` accepts exactly these names
(:class:`spikemem.continual.experiment.ContinualConfig`), and a method's table
is parsed by its dataclass. A class with a table is called
``cls(model, stream, config)``, one without ``cls(model, stream)``.
"""


def build_method(name: str, model: SpikingMLP, stream: TaskStream, config: dict[str, Any]) -> Method:
    """The method ``name`` configured by the table ``config[name]`` (defaults for missing keys)."""
    if name not in METHODS:
        raise ConfigError("continual.method", f"unknown method {name!r}; choose one of {list(METHODS)}")
    cls, table = METHODS[name]
    if table is None:
        return cls(model, stream)
    return cls(model, stream, parse_section(table, config.get(name), name))


__all__ = ["EWC", "GPM", "HLOP", "METHODS", "Method", "Multitask", "Replay", "build_method"]
