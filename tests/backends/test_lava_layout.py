"""The Lava backend's Processes and ProcessModels in Lava's layout: Lava itself finds every model and selects the
float or the fixed-point one by tag.

Lava finds the models of a Process by executing the modules of the Process's folder as top-level modules
(``ProcGroupDiGraphs._find_proc_models``); a model it cannot find there, or two models that both carry the
requested tag, would only show as a failure inside the worker. Runs in a subprocess, as the worker does, so that
Lava is never imported into the test process.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from spikemem.backends import get_backend

pytest.importorskip("spikemem.backends.lava_backend")
if not get_backend("lava").available():
    pytest.skip(f"Lava unavailable: {get_backend('lava').available().reason}", allow_module_level=True)

PACKAGE = "spikemem.backends.lava_backend._lava"
EXPECTED = {
    "SpikeSource": ("sources", "PySpikeSourceModel", "PySpikeSourceModel"),
    "ModulatorSource": ("sources", "PyModulatorSourceModel", "PyModulatorSourceModelFixed"),
    "SpecLIF": ("neuron", "PySpecLIFModelFloat", "PySpecLIFModelFixed"),
    "ProjectedLearningDense": ("connections", "PyProjectedLearningDenseFloat", "PyProjectedLearningDenseFixed"),
    "ProjectedTrace": ("circuits", "PyProjectedTraceModel", "PyProjectedTraceModelFixed"),
    "SubspaceResidual": ("circuits", "PySubspaceResidualModel", "PySubspaceResidualModelFixed"),
    "Dense": ("connections", "PyDenseFloat", "PyDenseFixed"),
    "DelayDense": ("connections", "PyDelayDenseFloat", "PyDelayDenseFixed"),
    "LearningDense": ("connections", "PyLearningDenseFloat", "PyLearningDenseFixed"),
    "BatchDense": ("batched", "PyBatchDenseFloat", "PyBatchDenseFixed"),
    "InputDense": ("batched", "PyInputDenseFloat", "PyInputDenseFixed"),
}
"""Process -> (folder of its models, float model, fixed-point model)."""

SCRIPT = f"""
import json, warnings
import numpy as np
warnings.simplefilter("error")  # Lava warns when it cannot execute a module of the folder it searches
from lava.magma.compiler.compiler_graphs import ProcGroupDiGraphs
from lava.magma.core.learning.learning_rule import Loihi2FLearningRule, Loihi3FLearningRule
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.dense.process import DelayDense, Dense, LearningDense
from {PACKAGE}.batched.process import BatchDense, InputDense
from {PACKAGE}.circuits.process import ProjectedTrace, SubspaceResidual
from {PACKAGE}.connections.models import LAVA_PROCESS_MODELS
from {PACKAGE}.connections.process import ProjectedLearningDense
from {PACKAGE}.neuron.process import SpecLIF
from {PACKAGE}.sources.process import ModulatorSource, SpikeSource

common = dict(name="p", shm_dir="unused")
weights = np.zeros((2, 3))
procs = [
    SpikeSource(shape=(2,), key="k", **common),
    ModulatorSource(shape=(2,), key="k", **common),
    SpecLIF(shape=(2,), v_init=np.zeros(2), params=None, record=(), has_current=False, **common),
    ProjectedLearningDense(weights=weights, learning_rule=Loihi3FLearningRule(dw="u0*x1*y1", x1_tau=1), **common),
    ProjectedTrace(size=3, rule=None, dt=1.0, **common),
    SubspaceResidual(shape=(2, 3), rule=None, dt=1.0, **common),
    Dense(weights=weights, **common),
    DelayDense(weights=weights, delays=1, **common),
    LearningDense(weights=weights, learning_rule=Loihi2FLearningRule(dw="x0*y1", y1_impulse=1), **common),
    BatchDense(batch=4, weights=weights, index=0, **common),
    InputDense(batch=4, weights=weights, index=0, key="k", **common),
]
found = {{}}
for proc in procs:
    models = ProcGroupDiGraphs._find_proc_models(proc)
    for tag in ("floating_pt", "fixed_pt"):
        exceptions = LAVA_PROCESS_MODELS[tag] if type(proc) in LAVA_PROCESS_MODELS[tag] else {{}}
        model = Loihi2SimCfg(select_tag=tag, exception_proc_model_map=exceptions).select(proc, models)
        found[type(proc).__name__ + " " + tag] = [model.__module__, model.__name__, list(model.tags)]
print(json.dumps(found))
"""


def test_lava_finds_every_model_and_selects_float_and_fixed_by_tag() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    for process, (folder, float_model, fixed_model) in EXPECTED.items():
        for tag, expected in (("floating_pt", float_model), ("fixed_pt", fixed_model)):
            module, name, tags = found[f"{process} {tag}"]
            assert (module, name) == (f"{PACKAGE}.{folder}.models", expected), (process, tag)
            assert tag in tags
            if float_model != fixed_model:  # additive tags: a fixed model must not inherit the float tag
                assert not ({"floating_pt", "fixed_pt"} - {tag}) & set(tags), (process, tag, tags)
