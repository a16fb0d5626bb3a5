"""The backend-agnostic model description: plain data, numpy only.

A :class:`Network` holds :class:`Population` s of :class:`LIF` neurons,
:class:`Projection` s (optionally plastic), inputs and :class:`Monitor` s.
Every backend in :mod:`spikemem.backends` executes it with the semantics
written in these classes' docstrings.
"""

from spikemem.spec.errors import SpecError
from spikemem.spec.inputs import CurrentInput, Input, ModulatorInput, PoissonInput, SpikeInput
from spikemem.spec.network import Monitor, Network, Population, Projection
from spikemem.spec.neurons import LIF
from spikemem.spec.plasticity import (
    MODULATED_RULES,
    RULE_TYPES,
    ErrorModulated,
    Hebb,
    Oja,
    OjaSubspace,
    PairSTDP,
    PlasticityRule,
    ThreeFactor,
    project_out,
    trace_decay,
)
from spikemem.spec.serialize import load, save
from spikemem.spec.validation import validate

__all__ = [
    "LIF",
    "MODULATED_RULES",
    "RULE_TYPES",
    "CurrentInput",
    "ErrorModulated",
    "Hebb",
    "Input",
    "ModulatorInput",
    "Monitor",
    "Network",
    "Oja",
    "OjaSubspace",
    "PairSTDP",
    "PlasticityRule",
    "PoissonInput",
    "Population",
    "Projection",
    "SpecError",
    "SpikeInput",
    "ThreeFactor",
    "load",
    "project_out",
    "save",
    "trace_decay",
    "validate",
]
