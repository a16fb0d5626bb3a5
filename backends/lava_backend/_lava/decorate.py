"""One decorator for the three that every ProcessModel of this package carries."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

Model = TypeVar("Model", bound=type)


def cpu_model(proc: type[AbstractProcess], *tags: str) -> Callable[[Model], Model]:
    """``@implements(proc, LoihiProtocol)``, ``@requires(CPU)`` and ``@tag(*tags)`` in one.

    Lava's tags are additive over inheritance, so a model tagged ``fixed_pt``
    must not subclass one tagged ``floating_pt``: the float and fixed models of
    a Process here share an untagged base class instead, and Lava's run
    configuration selects them by tag alone.
    """

    def decorate(cls: Model) -> Model:
        return implements(proc=proc, protocol=LoihiProtocol)(requires(CPU)(tag(*tags)(cls)))

    return decorate
