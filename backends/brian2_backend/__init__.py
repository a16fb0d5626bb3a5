r"""The Brian2 backend: the spec as an explicit ``brian2.Network`` with the canonical discrete-time update.

Translation (:mod:`._plan` has the code, :mod:`._build` the objects):

- each population is a ``NeuronGroup`` whose ``groups``-slot code is the
  canonical step :math:`v \leftarrow \beta v + I_{ext}[t]` (no ODE solver, so
  no rounding of its own), threshold :math:`v > v_{th}`, reset by value or by
  subtraction, refractoriness as an integer countdown that holds ``v`` and
  discards synaptic and external input;
- each projection is a ``Synapses`` object with ``on_pre: v_post += w`` in the
  ``before_thresholds`` slot (spikes of step ``t - 1`` arrive before the
  threshold of step ``t``) and a Brian2 delay of ``(d - 1) dt`` for the spec's
  ``d`` steps; static projections get synapses only where weights are nonzero
  (``set_weights`` adds synapses for new nonzero entries), plastic ones
  wherever the mask allows;
- spike inputs (rasters and the seeded Poisson trains, materialised by
  :mod:`spikemem.stimulus`) are ``NeuronGroup`` s that fire where a 0/1
  ``TimedArray`` says so; time-varying currents and modulators are
  ``TimedArray`` s too (refilled for each run, see :mod:`._tables`), constant
  currents are a per-neuron constant;
- plasticity is synapse code in the ``end`` slot with the spec's traces
  (decay in the ``groups`` slot, ``+1`` at the spike in the ``resets`` slot),
  OjaSubspace's reconstruction :math:`\sum_k W_{kj} y_k` a summed variable on
  the presynaptic group (its graded activity :math:`y = W \tilde x` one on the
  postsynaptic group), a rule's ``basis`` term :math:`B^\top B x` the summed
  variables of static helper synapses onto a helper group of graded units:
  every rule of the spec runs inside Brian2, on every target, with no Python
  code per step;
- monitors: ``SpikeMonitor`` (spikes; counts only when only counts are
  asked), ``StateMonitor`` of ``v`` in the ``end`` slot, weights read at the
  end of the run; ``Monitor(projection, "weights", every=k)`` adds the only
  per-step Python code (a ``NetworkOperation``), runtime targets only.
  What only the operation count reads (:mod:`spikemem.cost`) needs no monitor
  on the runtime targets: a spike counter in the reset code
  (``_plan.add_spike_counter``) and the last ``depth`` spike steps of each
  source (``_plan.add_spike_history``, the spikes still in transit).

``run_batch`` (inference, batched recall): the independent trials of a
static network run as ONE Brian2 run of a *batch model* (:mod:`._batch`):
R copies of the network side by side, trials laid out in time with a reset
at each trial's first step and gap steps for spikes in transit, all by code
inside the run; identical records to trials run one by one. On
``cpp_standalone`` the batch model is one compiled program
(:mod:`._standalone_batch`: built once per trial length, re-run for every
batch with the inputs and changed weights as run arguments, no Python code
per step).

Options (``get_backend("brian2", target="cython")``; in an experiment config,
``[backend_options.brian2]``; checked by :class:`Brian2Options`):

``target``
    ``"auto"`` (default): ``"cython"`` for networks with at least
    ``AUTO_CYTHON_SYNAPSES`` synapses when a compiler works, else
    ``"numpy"``. ``"numpy"``: no compiler, fine for small networks and tests.
    ``"cython"``: compiled, cached across processes (the first compilation of
    a network structure takes about a minute on 2 cores, later ones load from
    the cache). ``"cpp_standalone"``: a C++ program built at the first run and
    re-run with new inputs and weights through ``device.run(run_args=...)``;
    see :mod:`._standalone` for what it refuses.
``max_table_bytes``
    Memory bound of the input tables of one run (default 64 MiB); longer runs
    are simulated in chunks (runtime targets).
``standalone_dir``
    Project directory of the C++ standalone build (default: a fresh
    temporary directory per simulation).
``openmp_threads``
    OpenMP threads of the C++ standalone program (Brian2's
    ``devices.cpp_standalone.openmp_threads``; default 0: no OpenMP).
    Spikes are identical with threads (tested), but Brian2 2.9 delivers
    synaptic events that write a postsynaptic variable (``v_post += w``,
    the bulk of the work) on one thread only, and every step then has
    several OpenMP barriers: measured on the busy 2-core machine (load
    ~20), 200 MLP samples took 19-23 s with 2 threads against 1.3-1.4 s
    without. Worth trying only on an idle machine with many cores.

The resolved target is the simulation's ``target`` attribute.

Agreement with the reference (float64): spike trains identical; membrane
potentials and learned weights agree to rounding (seen: <= 6e-15 and
<= 1e-15 on the conformance cases, every target), because Brian2 adds the
synaptic inputs one by one where the reference uses a matrix product, and
the compiled targets use Brian2's default ``-O3 -ffast-math -march=native``
(fused multiply-adds). A spike can therefore differ only where ``v`` lands
within rounding of ``v_th``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

from spikemem.backend import (
    Availability,
    Backend,
    Capabilities,
    Simulation,
    UnsupportedFeatureError,
    import_availability,
    reject_unknown_options,
)
from spikemem.config import parse_section, require
from spikemem.spec import Network

from ._plan import RULE_CODE

Target = Literal["auto", "numpy", "cython", "cpp_standalone"]
TARGETS: tuple[str, ...] = get_args(Target)
AUTO_CYTHON_SYNAPSES = 50_000
"""``target="auto"`` compiles with cython from this many synapses on (below, numpy's
per-step overhead is smaller than a first compilation)."""


@dataclass(frozen=True)
class Brian2Options:
    """Validated options of the Brian2 backend (see the package docstring); a config's ``[backend_options.brian2]``."""

    target: Target = "auto"
    max_table_bytes: int = 64 * 2**20
    standalone_dir: str | None = None
    openmp_threads: int = 0

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        require(self.max_table_bytes >= 1, f"{table}.max_table_bytes", "must be a positive integer")
        require(self.openmp_threads >= 0, f"{table}.openmp_threads", "must be 0 (no OpenMP) or a number of threads")

    @classmethod
    def parse(cls, options: dict[str, Any]) -> Brian2Options:
        """Check ``options``; raise :class:`UnsupportedFeatureError` naming the bad one."""
        reject_unknown_options(set(cls.__dataclass_fields__), options, "brian2")
        return parse_section(cls, options, "options", UnsupportedFeatureError)


def synapse_count(network: Network) -> int:
    """Number of Brian2 synapses of ``network`` (plastic: every allowed entry; static: nonzero ones)."""
    total = 0
    for proj in network.projections:
        allowed = np.size(proj.weights) if proj.mask is None else int(np.count_nonzero(proj.mask))
        total += allowed if proj.plasticity is not None else int(np.count_nonzero(proj.weights))
    return total


def cython_available() -> Availability:
    """Whether Brian2's cython target can compile here (Brian2 runs a test compilation once)."""
    from brian2.codegen.runtime.cython_rt import CythonCodeObject

    if CythonCodeObject.is_available():
        return Availability(True)
    return Availability(False, "Brian2 cannot compile cython code here (no working C++ compiler or Cython)")


class Brian2Backend(Backend):
    """Brian2 2.x with numpy, cython or C++ standalone code generation (package docstring).

    Options: ``target``, ``max_table_bytes``, ``standalone_dir``, ``openmp_threads``.
    """

    name = "brian2"
    capabilities = Capabilities.from_tables(
        RULE_CODE,
        numeric=("float",),
        gradient_training=False,
        devices=("cpu",),
        native_batch=True,
        notes=(
            "targets numpy / cython / cpp_standalone (target='auto' picks by size); cpp_standalone runs every "
            "run() from the reset state and has no every-k weight monitors; run_batch runs all trials in one "
            "Brian2 run (cpp_standalone: one compiled program, re-run per batch)"
        ),
    )

    def available(self) -> Availability:
        return import_availability(("brian2",), "brian2")

    def _supplies_spike_tails(self, network: Network, options: dict[str, Any]) -> bool:
        """The runtime targets do (their per-step raster costs 4-11% of a run); C++ standalone records rasters."""
        return self.resolve_target(Brian2Options.parse(options).target, network) != "cpp_standalone"

    def _compile(self, network: Network, numeric: str, options: dict[str, Any]) -> Simulation:
        opts = Brian2Options.parse(options)
        target = self.resolve_target(opts.target, network)
        if target == "cpp_standalone":
            from ._standalone import StandaloneSimulation

            return StandaloneSimulation(
                network, numeric, opts.standalone_dir, opts.max_table_bytes, opts.openmp_threads
            )
        from ._runtime import Brian2Simulation

        if target == "cython":
            from brian2.codegen.runtime.cython_rt import CythonCodeObject as codeobj_class
        else:
            from brian2.codegen.runtime.numpy_rt import NumpyCodeObject as codeobj_class
        return Brian2Simulation(network, numeric, codeobj_class, target, opts.max_table_bytes)

    @staticmethod
    def resolve_target(target: str, network: Network) -> str:
        """The code-generation target ``target`` means for ``network`` (``"auto"`` resolved).

        Raises
        ------
        UnsupportedFeatureError
            ``"cython"`` was asked for but cannot compile here.
        """
        if target == "auto":
            large = synapse_count(network) >= AUTO_CYTHON_SYNAPSES
            return "cython" if large and cython_available() else "numpy"
        if target == "cython":
            availability = cython_available()
            if not availability:
                raise UnsupportedFeatureError("options.target", f"{availability.reason}; use target='numpy'")
        return target
