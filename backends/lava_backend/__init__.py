"""Lava (lava-nc 0.10) backend: the network as Lava processes, in float or Loihi fixed point.

Translation (details in :mod:`._plan`): spike inputs -> ``SpikeSource``,
populations -> ``SpecLIF`` (the spec's neuron as a Lava Process with
``floating_pt`` and ``fixed_pt`` models), projections -> Lava's ``Dense``
(delay 1: Dense's built-in one-step delay), ``DelayDense`` (delay 2..64) or
``LearningDense`` with Lava's learning engine (Hebb, Oja, PairSTDP in float;
ThreeFactor and ErrorModulated through ``Loihi3FLearningRule``; all within
1e-12 of the reference). OjaSubspace and ErrorModulated with a ``basis``
learn on a graded presynaptic signal (the residual :math:`\tilde x - W^\top y`,
the projection :math:`x - B^\top B x`) that a circuit process computes in the
same step and sends into the engine's ``x1`` trace (``_plan``, "Rules on a
computed presynaptic signal"). In fixed point, Lava's "bit-approximate" learning engine (7-bit
stochastic traces, stochastic weight rounding) runs PairSTDP, within 15% of
the exact weight change for the same spikes (measured 7-8%), and
ErrorModulated and OjaSubspace with signed signals as 7-bit codes, unbiased
(``_plan``, "Fixed point"); Hebb, Oja and ThreeFactor are refused there (see
``_plan.FIXED_REFUSAL``).

Running: the Lava runtime lives in a worker process (:mod:`._worker`), started
at ``compile`` and kept until ``close``; its Lava processes start at the first
request that steps them (a simulation used only through the batched
``run_batch`` never starts them). ``close`` stops the runtimes and keeps the
worker (one per caller process, :func:`._client.release_worker`) for the next
``compile``, which then skips the worker's start and Lava's first imports; each ``run`` is a few Lava ``run``
calls of many steps (never one per step). Lava forks one process per
ProcessModel; doing that from a separate worker keeps it safe when the caller
has already initialised CUDA (a forked CUDA context is unusable) and lets a
hung runtime be killed as a whole. Every request has a deadline
(``timeout_s``); a failed Lava process raises :class:`LavaRunError` with its
traceback at once. Inputs and monitors travel through shared-memory buffers,
not Lava's per-element ``Var.get``/``Monitor``. ``run_batch`` of a static
network with delay-1 projections advances ``B`` trials per Lava step in a
second runtime whose populations carry a sample axis (:mod:`._batched`);
a ``reset`` travels with the next request. The simulation's own network runs
as one Lava process that steps the whole graph's models (option ``fuse``,
:mod:`._lava.fusion`): the same results as one process per population,
synapse and circuit, without their per-step synchronisation.
``LavaSimulation.profile()`` says where the worker's time went (:mod:`._profile`).

Options
-------
(``get_backend("lava", timeout_s=60)``; in an experiment config, ``[backend_options.lava]``;
checked by :class:`LavaOptions`.)

timeout_s : float, default 120
    Longest wait for one ``run``, ``reset`` or weight update; then the runtime
    is killed and :class:`LavaRunError` raised.
build_timeout_s : float, default 120
    Longest wait for ``compile`` (worker start, Lava import, the processes'
    construction), and the extra time given to the request that starts a
    runtime (Lava's compiler and process start: the first ``run``, the first
    native ``run_batch`` or one with a larger ``B``).
chunk_steps : int, optional
    Steps per Lava ``run`` call (default: as many as fit ``buffer_mb``).
buffer_mb : float, default 64
    Budget of the shared input/record buffers of one chunk.
headroom_bits : int, default 2
    Fixed point: bits of ``v`` kept above the threshold (see
    :func:`spikemem.fixed_point.quantize`).
batch_trials : int, default 256
    ``run_batch``: trials per worker request (each request has the
    ``timeout_s`` deadline), and the most samples ``B`` one time step
    advances (see ``native_batch``).
native_batch : bool, default True
    ``run_batch`` of a static network with delay-1 projections runs ``B``
    trials at once in a second runtime whose populations carry a sample axis
    (``_batched``; ``B`` = the request's trials, at most ``batch_trials``,
    within ``buffer_mb``); same records as one trial at a time (fixed point
    bit for bit). False, or a network with delays: the trials of a request
    run one after another in the simulation's runtime, the state reset
    before each.
weight_ranges : dict, optional
    Fixed point: projection name -> the largest weight magnitude its 8-bit
    mantissas must hold (for weights set or learned later, e.g. a readout
    that starts at zero); see :func:`spikemem.fixed_point.quantize`.
modulator_range : float, default 1
    Fixed point: the modulator magnitude that fills ErrorModulated's 7-bit
    third factor (larger values are clipped).
seed : int, default 0
    Fixed point: seed of the stochastic rounding (rule signals and Lava's
    learning engine).
fuse : {"auto", "always", "never"}, default "auto"
    Run the simulation's process graph as *one* Lava process
    (:mod:`._lava.fusion`): the same ProcessModels (Lava's ``Dense`` family
    and learning engine, the spec's neuron, the sources and learning
    circuits) stepped inside one model on Lava's runtime, so a step costs
    one process's phases instead of every process's messages. Same results:
    fixed point bit for bit (the same engine code and random streams), float
    bit for bit too except that a population with several float inputs may
    sum them in another order (the last bit of ``v``, as between two runs of
    the per-process graph). ``"auto"``: fused wherever the results are those
    of the per-process graph by construction (fixed point; float unless a
    population sums several float inputs), e.g. the local learner's learning
    and scoring networks; ``"always"``: every graph that one process can
    step (one whose non-synapse processes form a cycle cannot, nor could
    Lava: refused when the simulation is built); ``"never"``: one Lava
    process per population, synapse, circuit and source (the graph that
    maps to Loihi cores). The batched network of ``run_batch`` is not
    affected.
"""

from __future__ import annotations

import functools
import math
import os
import shutil
import subprocess
import sys
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from spikemem.backend import (
    Availability,
    Backend,
    Capabilities,
    Simulation,
    UnsupportedFeatureError,
    reject_unknown_options,
)
from spikemem.config import parse_section, require
from spikemem.fixed_point import FixedPointArithmetic, FixedPointModel, quantize, quantize_weights
from spikemem.spec import Network, SpecError
from spikemem.stimulus import InputWindow

from ._batched import batch_refusal, batch_size
from ._client import LavaRunError, Worker, acquire_worker, release_worker
from ._plan import FIXED_REFUSAL, FIXED_RULES, FLOAT_RULES, Plan, build_plan

__all__ = ["LavaBackend", "LavaOptions", "LavaRunError", "LavaSimulation"]


FUSE_MODES = ("auto", "always", "never")
"""Values of the ``fuse`` option (module docstring)."""


@dataclass(frozen=True)
class LavaOptions:
    """Validated options of the Lava backend (see the module docstring); a config's ``[backend_options.lava]``."""

    timeout_s: float = 120.0
    build_timeout_s: float = 120.0
    chunk_steps: int | None = None
    buffer_mb: float = 64.0
    headroom_bits: int = 2
    batch_trials: int = 256
    native_batch: bool = True
    weight_ranges: dict[str, float] | None = None
    modulator_range: float = 1.0
    seed: int = 0
    fuse: str = "auto"

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        for name in ("timeout_s", "build_timeout_s"):
            require(getattr(self, name) > 0, f"{table}.{name}", "must be a positive number of seconds")
        require(self.chunk_steps is None or self.chunk_steps >= 1, f"{table}.chunk_steps", "must be an integer >= 1")
        require(self.buffer_mb > 0, f"{table}.buffer_mb", "must be a positive number of MiB")
        require(self.headroom_bits >= 0, f"{table}.headroom_bits", "must be an integer >= 0")
        require(self.batch_trials >= 1, f"{table}.batch_trials", "must be an integer >= 1")
        require(
            self.weight_ranges is None or all(v > 0 for v in self.weight_ranges.values()),
            f"{table}.weight_ranges",
            f"must map projection names to positive numbers, got {self.weight_ranges!r}",
        )
        require(self.modulator_range > 0, f"{table}.modulator_range", "must be a positive number")
        require(self.seed >= 0, f"{table}.seed", "must be an integer >= 0")
        require(
            self.fuse in FUSE_MODES,
            f"{table}.fuse",
            f"must be one of {', '.join(repr(mode) for mode in FUSE_MODES)}, got {self.fuse!r}",
        )

    @classmethod
    def parse(cls, options: dict[str, Any]) -> LavaOptions:
        """Check ``options``; raise :class:`~spikemem.spec.SpecError` naming the bad one.

        Unknown options raise :class:`UnsupportedFeatureError`, as on every backend.
        """
        reject_unknown_options(set(cls.__dataclass_fields__), options, "Lava")
        return parse_section(cls, options, "options", SpecError)


DEFAULT_OPTIONS: dict[str, Any] = asdict(LavaOptions())
"""The default options as a dict (kept for callers that read it)."""

_PROBE = "import lava.magma.core.learning.learning_rule, lava.magma.core.run_configs, lava.proc.dense.process"


@functools.lru_cache(maxsize=1)
def _availability() -> Availability:
    """Whether Lava runs here, probed once per process (see :func:`probe_lava`)."""
    return probe_lava(sys.version_info[:2])


def probe_lava(python_version: tuple[int, int]) -> Availability:
    """Import Lava for real in a child process and say why it cannot run if that fails.

    The probe runs in a child because importing Lava calls
    ``multiprocessing.set_start_method("fork")`` without ``force``, which fails
    in a process whose start method is already fixed (tqdm's progress bars fix
    it); the Lava runtime itself lives in the worker process, so this process
    never needs Lava imported.

    Parameters
    ----------
    python_version
        ``(major, minor)`` of this interpreter, for the hint in the reason.
    """
    version = "{}.{}".format(*python_version)
    if not hasattr(os, "fork"):
        return Availability(False, "Lava's CPU runtime needs os.fork (Linux or macOS)")
    try:
        probe = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        return Availability(False, "importing lava-nc took over 120 s in a child process")
    if probe.returncode == 0:
        return Availability(True)
    lines = probe.stderr.strip().splitlines()
    error = lines[-1] if lines else f"exit code {probe.returncode}"
    hint = (
        f" lava-nc 0.10 supports Python 3.10 only (this is Python {version}; on 3.11 its import fails "
        "with a dataclass 'mutable default' ValueError)."
        if version != "3.10"
        else ""
    )
    return Availability(False, f"lava-nc cannot be imported ({error}).{hint} Install spikemem[lava] under Python 3.10.")


def check_fixed_point(model: FixedPointModel, network: Network) -> None:
    """Refuse fixed-point setups Loihi cannot represent, before any Lava process starts."""
    for proj in network.projections:
        fw = model.projections[proj.name]
        weights = np.asarray(proj.weights, dtype=np.float64)
        if np.any(weights) and not np.any(fw.mantissa):
            raise UnsupportedFeatureError(
                f"projections[{proj.name!r}].weights",
                f"every weight rounds to 0 in fixed point (largest |w| = {np.abs(weights).max():.3g}, one weight "
                f"step = {fw.unit:.3g}); weights this small next to the threshold need more than the 8-bit mantissa "
                "and 24-bit potential Loihi has: scale weights and thresholds up together, or run numeric='float'",
            )
    for pop in network.populations:
        neuron = model.populations[pop.name]
        if neuron.vth == 0:
            raise UnsupportedFeatureError(
                f"populations[{pop.name!r}].neuron.v_th", "rounds to 0 in fixed point; use a larger threshold"
            )
        if neuron.dv == 0 and not math.isinf(pop.neuron.tau_mem):
            raise UnsupportedFeatureError(
                f"populations[{pop.name!r}].neuron.tau_mem",
                f"tau_mem / dt = {pop.neuron.tau_mem / network.dt:g} is too long for Loihi's 12-bit decay "
                "(1 - beta < 1/8192 rounds to no leak at all); shorten tau_mem or run numeric='float'",
            )
        if neuron.input_overflow_possible:
            warnings.warn(
                f"population {pop.name!r}: the worst-case synaptic input of one step can exceed Loihi's 24-bit "
                "current register (Loihi would wrap it; spikemem's integer model saturates v instead)",
                stacklevel=3,
            )


class LavaSimulation(Simulation):
    """A network running in a Lava worker process (see the module docstring)."""

    backend_name = "lava"

    def __init__(
        self,
        network: Network,
        numeric: str,
        plan: Plan,
        arithmetic: FixedPointArithmetic | None,
        options: dict[str, Any],
    ) -> None:
        super().__init__(network, numeric)
        self._plan = plan
        self._arith = arithmetic
        self._initial = {conn.name: self._to_float(conn.name, conn.weights) for conn in plan.connections}
        self._weights = {name: w.copy() for name, w in self._initial.items()}
        self._plastic = {conn.name for conn in plan.connections if conn.rule is not None}
        self._batch_trials = int(options["batch_trials"])
        self._native_batch = bool(options["native_batch"]) and batch_refusal(plan) is None
        self._buffer_bytes = int(float(options["buffer_mb"]) * 2**20)
        self._resets: list[dict[str, np.ndarray] | None] = []
        """Resets asked for since the last request: they travel with the next one (no request of their own)."""
        self._timeout_s = float(options["timeout_s"])
        self._build_timeout_s = float(options["build_timeout_s"])
        self._started = False
        """Whether the worker's runtime has started (at the first ``run``: it is lazy)."""
        self._batch_started = 0
        """``B`` of the worker's batched runtime (0: none yet); a larger ``B`` starts a new one."""
        self._worker = acquire_worker(self._timeout_s, Worker)
        try:
            self._worker.request("build", plan, timeout_s=self._build_timeout_s)
        except BaseException:
            self._worker.kill()
            raise

    # -- unit conversion ---------------------------------------------------------------------
    def _to_float(self, projection: str, lava_weights: np.ndarray) -> np.ndarray:
        if self._arith is None:
            return np.array(lava_weights, dtype=np.float64)
        return np.asarray(lava_weights, dtype=np.float64) * self._arith.model.projections[projection].unit

    def _to_lava(self, projection: str, weights: np.ndarray) -> np.ndarray:
        if self._arith is None:
            return np.array(weights, dtype=np.float64)
        fw = self._arith.model.projections[projection]
        return quantize_weights(weights, fw.exponent, fw.sign_mode, fw.scale)

    # -- Simulation protocol -----------------------------------------------------------------
    def _input_arrays(self, windows: list[InputWindow], stacked: bool) -> dict[str, dict[str, np.ndarray]]:
        """The Lava-side input arrays of one window, or of several on a leading trial axis (``stacked``).

        An input that is the same in every trial (e.g. a bias current) keeps a trial axis of length 1:
        the worker broadcasts it (:func:`._worker.trial_arrays`) instead of receiving one copy per trial.
        """
        sources = {src.name for src in self._plan.sources}

        def gather(kind: str) -> dict[str, np.ndarray]:
            named = getattr(windows[0], kind)
            keep = [name for name in named if kind != "spikes" or name in sources]
            if not stacked:
                return {name: named[name] for name in keep}
            return {name: _trials([getattr(w, kind)[name] for w in windows]) for name in keep}

        currents = gather("currents")
        if self._arith is not None:
            currents = {name: self._arith.external(name, value) for name, value in currents.items()}
        return {"spikes": gather("spikes"), "currents": currents, "modulators": gather("modulators")}

    def _warn_unflushed(self, window: InputWindow) -> None:
        """Fixed-point ErrorModulated moves its tag into the weights on the last step, without that step's change."""
        for conn in self._plan.connections:
            rule = conn.rule
            if rule is None or not rule.accumulate or rule.modulator not in window.modulators:
                continue
            last = np.asarray(window.modulators[rule.modulator])[-1]
            if np.any(last != 0):
                warnings.warn(
                    f"projection {conn.name!r}: the modulator is nonzero on the run's last step; in fixed point "
                    "ErrorModulated applies its accumulated change on that step, so that step's own change waits "
                    "in the synaptic tag (a reset drops it): end runs on a step with zero modulator",
                    stacklevel=4,
                )

    def _run(self, window: InputWindow) -> dict[str, np.ndarray]:
        self._warn_unflushed(window)
        request = self._worker.save_inputs(window.steps, self._input_arrays([window], stacked=False))
        request["resets"], self._resets = self._resets, []
        try:
            data = self._worker.request("run", request, timeout_s=self._request_timeout(starts=not self._started))
        finally:
            shutil.rmtree(request["dir"], ignore_errors=True)
        self._started = True
        return self._records(window, data)

    def _request_timeout(self, starts: bool) -> float:
        """A request's deadline: ``timeout_s``, plus ``build_timeout_s`` when it starts a Lava runtime.

        The runtimes start lazily, at the first request that steps them, not at ``compile``
        (``_worker.LavaNetwork._ensure_started``, ``_batched``): that request does a build's work too.
        """
        return self._timeout_s + (self._build_timeout_s if starts else 0.0)

    def _run_batch(self, windows: list[InputWindow]) -> dict[str, np.ndarray]:
        """Trials in one runtime: requests of up to ``batch_trials`` trials, each trial from the reset state.

        With ``native_batch`` the worker runs each request's trials ``B`` at a time (module docstring).
        """
        records = []
        size = int(self._batch_trials)
        for start in range(0, len(windows), size):
            part = windows[start : start + size]
            request = self._worker.save_inputs(part[0].steps, self._input_arrays(part, stacked=True))
            request["resets"], self._resets = self._resets, []
            request.update(
                trials=len(part), native=self._native_batch, batch_trials=size, buffer_bytes=self._buffer_bytes
            )
            if self._native_batch:
                batch = batch_size(self._plan, len(part), size, self._buffer_bytes)
                starts, self._batch_started = batch > self._batch_started, max(batch, self._batch_started)
            else:
                starts, self._started = not self._started, True
            try:
                replies = self._worker.request("run_batch", request, timeout_s=self._request_timeout(starts))
            finally:
                shutil.rmtree(request["dir"], ignore_errors=True)
            records += [self._records(window, data) for window, data in zip(part, replies, strict=True)]
        return self._stack_trials(records)

    def _records(self, window: InputWindow, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        for name in self._plastic:
            self._weights[name] = self._to_float(name, data[f"{name}.learned"])
        out: dict[str, np.ndarray] = {}
        for monitor in self.network.monitors:
            key = monitor.key
            if monitor.target in window.spikes and key not in data:  # spike inputs: the input itself
                spikes = window.spikes[monitor.target]
                out[key] = spikes.copy() if monitor.variable == "spikes" else spikes.sum(axis=0).astype(np.int64)
            elif monitor.variable == "weights":
                out[key] = self._weight_record(monitor.target, monitor.every, window.steps, data)
            else:
                out[key] = data[key]
        return out

    def _weight_record(self, name: str, every: int | None, steps: int, data: dict[str, np.ndarray]) -> np.ndarray:
        if every is None:
            return self._weights[name].copy()
        if name in self._plastic:
            return self._to_float(name, data[f"{name}.snapshots"])
        return np.repeat(self._weights[name][None], steps // every, axis=0)

    def _reset(self, weights: bool) -> None:
        """Queued: the worker does it at the start of the next request (in order with the others)."""
        self._worker.check_alive()
        restore = None
        if weights:
            self._weights = {name: w.copy() for name, w in self._initial.items()}
            restore = {conn.name: conn.weights for conn in self._plan.connections}
        self._resets.append(restore)

    def _get_weights(self, projection: str) -> np.ndarray:
        return self._weights[projection].copy()

    def _set_weights(self, projection: str, weights: np.ndarray) -> None:
        lava_weights = self._to_lava(projection, weights)
        resets, self._resets = self._resets, []
        self._worker.request("set_weights", projection, lava_weights, resets)
        self._weights[projection] = self._to_float(projection, lava_weights)

    def _close(self) -> None:
        release_worker(self._worker)

    def profile(self) -> dict[str, float | int]:
        """Where the time went since the last call: the worker's phases and this process's side of the requests.

        Keys: the worker's (:mod:`._profile`) and ``client.request.<name>_s`` (round trip as seen here),
        ``client.save_inputs_s`` (writing the input files), ``client.requests``. Not after ``close``: the
        worker may serve another simulation by then.
        """
        self._ensure_open()
        worker = self._worker.request("profile")
        return {**worker, **self._worker.profile.take()}

    @property
    def worker_pid(self) -> int:
        """Process id (= process group) of the worker that owns the Lava runtime."""
        return self._worker.pid

    @property
    def fixed_point(self) -> FixedPointModel | None:
        """The quantization in use (fixed point), with its error report."""
        return None if self._arith is None else self._arith.model


def _trials(arrays: list[np.ndarray]) -> np.ndarray:
    """``arrays`` on a leading trial axis; one of length 1 when every trial's array is the same."""
    first = np.asarray(arrays[0])
    if all(array is arrays[0] or np.array_equal(array, first) for array in arrays[1:]):
        return first[None]
    return np.stack(arrays)


class LavaBackend(Backend):
    """Lava's Python simulation of Loihi, float (``floating_pt``) or fixed point (``fixed_pt``)."""

    name = "lava"
    capabilities = Capabilities.from_tables(
        FLOAT_RULES,
        FIXED_RULES,
        FIXED_REFUSAL,
        numeric=("float", "fixed"),
        gradient_training=False,
        devices=("cpu",),
        native_batch=True,
        notes=(
            "Lava 0.10 (Python 3.10 only); rules on Lava's learning engine in float (OjaSubspace and "
            "ErrorModulated.basis on a graded pre trace from a same-step circuit); fixed point bit-exact with "
            "spikemem.fixed_point, learning there PairSTDP (~8% of dW), ErrorModulated and OjaSubspace (signed "
            "7-bit codes, unbiased); delays 1..64; runtime in a worker process with a timeout; run_batch of a static "
            "delay-1 network: B samples per step"
        ),
    )

    def available(self) -> Availability:
        return _availability()

    def _check_supported(self, network: Network, numeric: str) -> None:
        for proj in network.projections:
            field = f"projections[{proj.name!r}]"
            if proj.delay > 64:
                raise UnsupportedFeatureError(f"{field}.delay", f"Lava/Loihi 2 delays are 1..64, not {proj.delay}")
            if proj.plasticity is None:
                continue
            if proj.delay != 1:
                raise UnsupportedFeatureError(
                    f"{field}.delay",
                    f"Lava's LearningDense has no delays; plastic projections need delay 1, got {proj.delay}",
                )

    def _compile(self, network: Network, numeric: str, options: dict[str, Any]) -> Simulation:
        opts = asdict(LavaOptions.parse(options))
        arithmetic = None
        fixed = None
        if numeric == "fixed":
            try:
                fixed = quantize(network, int(opts["headroom_bits"]), opts["weight_ranges"])
            except ValueError as exc:
                raise SpecError("options.weight_ranges", str(exc)) from None
            check_fixed_point(fixed, network)
            arithmetic = FixedPointArithmetic(network, fixed)
        plan = build_plan(
            network,
            numeric,
            fixed,
            opts["chunk_steps"],
            int(opts["buffer_mb"] * 2**20),
            rule_options={"modulator_range": float(opts["modulator_range"])},
            seed=int(opts["seed"]),
            fuse=str(opts["fuse"]),
        )
        return LavaSimulation(network, numeric, plan, arithmetic, opts)
