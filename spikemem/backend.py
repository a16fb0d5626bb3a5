"""The backend protocol: what every simulator adapter provides.

A backend translates a :class:`~spikemem.spec.Network` into its simulator
(:meth:`Backend.compile`) and returns a :class:`Simulation` that runs it
(:meth:`Simulation.run`) and returns a :class:`~spikemem.recording.Recording`.
Everything that is the same for every backend (validation, capability
checks, input materialisation, timing, batching) lives here once; a backend
implements only ``_compile``, ``_run``, ``_reset`` and weight access.

Plasticity rules go through tables: each backend keeps one mapping from rule
class to its translation (float, and fixed point where it has one) and builds
its :class:`Capabilities` from them (:meth:`Capabilities.from_tables`), so it
advertises exactly the rules it translates. :meth:`Backend.check_supported`
refuses any other rule class at compile time, before the simulator starts;
:func:`translation` is the lookup a backend's planner uses.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

from spikemem.cost.counts import (
    OperationCounts,
    count_operations,
    nonzero,
    nonzero_total,
    synapse_fanout,
    tail_depths,
    tail_sources,
    with_cost_monitors,
)
from spikemem.recording import Recording
from spikemem.spec import CurrentInput, Monitor, Network, PlasticityRule, SpecError
from spikemem.spec.errors import UnsupportedFeatureError
from spikemem.stimulus import InputWindow, input_window

if TYPE_CHECKING:
    from spikemem.fixed_point import FixedPointModel

NUMERIC_MODES = ("float", "fixed")

Translation = TypeVar("Translation")
RuleTable = Mapping[type[PlasticityRule], Any]
"""A backend's rules: rule class -> its translation (whatever the backend's planner needs)."""


class BackendUnavailableError(RuntimeError):
    """The backend's simulator cannot run here; the message says why and how to fix it."""


class SimulatorError(RuntimeError):
    """A simulator failed, hung or timed out while running a valid network (not a bug of spikemem, not bad input).

    Backends raise a subclass (e.g. ``LavaRunError``) whose first message line says what failed; the CLI
    reports it in one line with exit code 4.
    """


@dataclass(frozen=True)
class Capabilities:
    """What a backend can execute.

    Attributes
    ----------
    numeric
        Arithmetic modes: ``"float"`` and/or ``"fixed"`` (Loihi-style integers).
    rules
        Names of the plasticity rules it runs inside the simulator.
    refused_options
        Options of those rules it refuses (``"ErrorModulated.basis"``: see
        :attr:`spikemem.spec.PlasticityRule.options`).
    fixed_point_rules
        The rules it also runs with ``numeric="fixed"``.
    gradient_training
        Whether models can be trained by backpropagation (surrogate gradients).
    devices
        Devices it can run on (``"cpu"``, ``"cuda"``, ``"loihi-sim"`` ...).
    native_batch
        Whether ``run_batch`` runs trials in parallel rather than one by one.
    notes
        Short remarks shown by ``spikemem backends`` (limits, refused rules).
    rule_types, fixed_point_rule_types
        The rule classes behind ``rules`` and ``fixed_point_rules`` (the keys
        of the backend's rule tables): what :meth:`Backend.check_supported`
        admits. Empty unless built by :meth:`from_tables`.
    fixed_point_refusals
        ``(rule name, reason)`` for rules it runs in float but not in fixed
        point, quoted when it refuses them.
    """

    numeric: tuple[str, ...] = ("float",)
    rules: tuple[str, ...] = ()
    refused_options: tuple[str, ...] = ()
    fixed_point_rules: tuple[str, ...] = ()
    gradient_training: bool = False
    devices: tuple[str, ...] = ("cpu",)
    native_batch: bool = False
    notes: str = ""
    rule_types: tuple[type[PlasticityRule], ...] = ()
    fixed_point_rule_types: tuple[type[PlasticityRule], ...] = ()
    fixed_point_refusals: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        for names, types in ((self.rules, self.rule_types), (self.fixed_point_rules, self.fixed_point_rule_types)):
            if types and names != rule_names(types):
                raise ValueError(f"rule names {names} do not match the rule classes {rule_names(types)}")

    @classmethod
    def from_tables(
        cls,
        rules: RuleTable,
        fixed_point_rules: RuleTable | None = None,
        fixed_point_refusals: Mapping[type[PlasticityRule], str] | None = None,
        **others: Any,
    ) -> Capabilities:
        """The capabilities of a backend whose rules are the keys of its tables.

        Parameters
        ----------
        rules
            Rule class -> float translation.
        fixed_point_rules
            Rule class -> fixed-point translation (``numeric="fixed"``).
        fixed_point_refusals
            Rule class -> why it is not offered in fixed point.
        **others
            The other fields (``numeric``, ``devices``, ``notes`` ...).
        """
        fixed = dict(fixed_point_rules or {})
        refusals = fixed_point_refusals or {}
        return cls(
            rules=rule_names(rules),
            fixed_point_rules=rule_names(fixed),
            rule_types=tuple(rules),
            fixed_point_rule_types=tuple(fixed),
            fixed_point_refusals=tuple((rule.__name__, reason) for rule, reason in refusals.items()),
            **others,
        )

    def fixed_point_reason(self, rule: PlasticityRule) -> str:
        """Why ``rule`` is not offered in fixed point (empty when no reason is recorded)."""
        return dict(self.fixed_point_refusals).get(rule.name, "")

    def as_dict(self) -> dict[str, Any]:
        """Plain-data form for JSON output."""
        return {
            "numeric": list(self.numeric),
            "rules": list(self.rules),
            "refused_options": list(self.refused_options),
            "fixed_point_rules": list(self.fixed_point_rules),
            "gradient_training": self.gradient_training,
            "devices": list(self.devices),
            "native_batch": self.native_batch,
            "notes": self.notes,
            "fixed_point_refusals": dict(self.fixed_point_refusals),
        }


def rule_names(table: Iterable[type[PlasticityRule]]) -> tuple[str, ...]:
    """Class names of the rule classes of ``table`` (a rule table or its keys), in order."""
    return tuple(rule.__name__ for rule in table)


def refused_rule(
    field: str, rule: PlasticityRule, backend: str, runs: Iterable[str], numeric: str = "float", reason: str = ""
) -> UnsupportedFeatureError:
    """The error for a rule ``backend`` has no translation of (in ``numeric`` mode); it names all three.

    ``field`` is the projection's ``projections[name].plasticity``, ``runs``
    the rules the backend does run in that mode, ``reason`` why (optional).
    """
    runs = list(runs)
    cls = type(rule)
    name = rule.name if rule.name not in runs else f"{rule.name} (class {cls.__module__}.{cls.__qualname__})"
    if numeric == "fixed":
        because = f": {reason}" if reason else ""
        return UnsupportedFeatureError(
            field,
            f"{name} is not offered in fixed point on backend {backend!r}{because}; it runs {runs or 'no rule'} "
            "there; run it with numeric='float'",
        )
    because = f" ({reason})" if reason else ""
    return UnsupportedFeatureError(field, f"backend {backend!r} has no translation of {name}{because}; it runs {runs}")


def translation(
    table: Mapping[type[PlasticityRule], Translation],
    rule: PlasticityRule,
    backend: str,
    field: str,
    numeric: str = "float",
    refusals: Mapping[type[PlasticityRule], str] | None = None,
) -> Translation:
    """The entry of ``rule``'s class in a backend's rule ``table``.

    The class is looked up exactly (a subclass may mean other equations).

    Raises
    ------
    UnsupportedFeatureError
        The class has no entry (:func:`refused_rule`, with the reason from ``refusals``).
    """
    try:
        return table[type(rule)]
    except KeyError:
        reason = (refusals or {}).get(type(rule), "")
        raise refused_rule(field, rule, backend, rule_names(table), numeric, reason) from None


@dataclass(frozen=True)
class Availability:
    """Whether a backend can run here, and if not, why."""

    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


def reject_unknown_options(known: set[str], options: dict[str, Any], backend: str) -> None:
    """Raise :class:`UnsupportedFeatureError` naming every option ``backend`` does not know."""
    unknown = sorted(set(options) - known)
    if unknown:
        raise UnsupportedFeatureError("options", f"unknown {backend} option(s) {unknown}; known: {sorted(known)}")


def import_availability(modules: tuple[str, ...], extra: str) -> Availability:
    """Available when every module in ``modules`` imports; otherwise why, and the extra that installs it."""
    import importlib

    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            return Availability(False, f"{exc}; install with `pip install 'spikemem[{extra}]'`")
    return Availability(True)


class Simulation(ABC):
    """A compiled network, ready to run; owned by one backend.

    State (membrane potentials, refractory counters, spikes in transit,
    plasticity traces, weights) persists across :meth:`run` calls until
    :meth:`reset`. Use it as a context manager, or call :meth:`close`, to free
    simulator resources (Lava runtimes, compiled code).
    """

    backend_name: ClassVar[str] = ""

    def __init__(self, network: Network, numeric: str) -> None:
        self.network = network
        self.numeric = numeric
        self.t = 0
        self._closed = False
        self.counting = False
        """Whether runs count their operations (:attr:`Recording.cost`); set by :meth:`Backend.compile`."""
        self.graded_fan_in: dict[str, int] = {}
        """Population -> MACs per non-zero graded input element (:func:`spikemem.cost.count_operations`)."""
        self._cost_keys: frozenset[str] = frozenset()
        self._in_transit: dict[str, np.ndarray] = {}
        self._depth: dict[str, int] = {}
        self._tail_depths: dict[str, int] = {}
        self._fanouts: dict[str, np.ndarray] = {}

    def _enable_counting(self, added_keys: frozenset[str], tails: frozenset[str] = frozenset()) -> None:
        """Count every run's operations; ``added_keys``: recorded only for the count, dropped from recordings.

        ``tails``: sources recorded by per-neuron counts only, whose spike
        tails the simulation supplies (:meth:`_spike_tails`); a batched run
        records their rasters (:meth:`_tail_rasters_network`), dropped too.
        """
        self.counting = True
        for proj in self.network.projections:
            self._depth[proj.pre] = max(self._depth.get(proj.pre, 1), proj.delay)
            self._fanouts[proj.name] = synapse_fanout(proj)
        self._tail_depths = tail_depths(self.network, tails)
        self._cost_keys = added_keys | {f"{source}.spikes" for source in self._tail_depths}

    def _tail_rasters_network(self) -> Network:
        """The network with a raster monitor of every tail source (for a batched run, whose count needs them)."""
        if not self._tail_depths:
            return self.network
        extra = [Monitor(source, "spikes") for source in self._tail_depths]
        return replace(self.network, monitors=[*self.network.monitors, *extra])

    def _spike_tails(self, depths: Mapping[str, int], steps: int) -> dict[str, np.ndarray]:
        """Source -> ``(1, depth, n)`` bool: its spikes in the last ``depth`` steps of the run of ``steps`` just made.

        Oldest step first; steps before the run are False. A simulation whose
        backend declares :meth:`Backend._supplies_spike_tails` implements it.
        """
        raise NotImplementedError(f"backend {self.backend_name!r} does not supply spike tails")

    def _count(
        self,
        data: dict[str, np.ndarray],
        windows: list[InputWindow],
        batched: bool,
        learn: bool,
        overrides: Mapping[str, np.ndarray] | None = None,
    ) -> OperationCounts | None:
        """The operations of a run (and the spikes it leaves in transit); strips the count's own monitors.

        ``overrides``: the trial-stacked inputs of :meth:`run_batch`, from which
        the graded inputs are counted at once (:func:`_graded_inputs`).
        """
        if not self.counting:
            return None
        steps = windows[0].steps
        inputs = {name: _trials([w.spikes[name] for w in windows], batched) for name in windows[0].spikes}
        currents = _graded_inputs(self.network, windows, overrides or {})
        tails = self._spike_tails(self._tail_depths, steps) if self._tail_depths and not batched else {}
        counts = count_operations(
            self.network,
            data,
            steps=steps,
            trials=len(windows),
            batched=batched,
            inputs=inputs,
            currents=currents,
            in_transit=None if batched else self._in_transit,
            tails=tails,
            learn=learn,
            graded_fan_in=self.graded_fan_in,
            fanouts=self._fanouts,
            numeric=self.numeric,
            backend=self.backend_name,
        )
        if not batched:
            rasters = {**inputs, **{k[: -len(".spikes")]: v for k, v in data.items() if k.endswith(".spikes")}}
            rasters.update(
                {source: tail[:, tail.shape[1] - min(steps, tail.shape[1]) :] for source, tail in tails.items()}
            )
            self._in_transit = {
                source: _last_steps(self._in_transit.get(source), np.asarray(rasters[source], dtype=bool), depth)
                for source, depth in self._depth.items()
                if source in rasters
            }
        for key in self._cost_keys:
            data.pop(key, None)
        return counts

    # -- the public API, shared by every backend ---------------------------------
    def run(self, steps: int, inputs: Mapping[str, np.ndarray] | None = None) -> Recording:
        """Advance ``steps`` steps and return what the monitors recorded.

        Parameters
        ----------
        steps
            Number of steps, >= 1.
        inputs
            Optional replacement data per input name for this run, indexed
            from the run's first step (see :mod:`spikemem.spec.inputs`).
        """
        self._ensure_open()
        steps = _check_steps(steps)
        window = input_window(self.network, self.t, steps, inputs)
        start = time.perf_counter()
        data = self._run(window)
        wall = time.perf_counter() - start
        cost = self._count(data, [window], batched=False, learn=True)
        recording = Recording(
            dt=self.network.dt,
            steps=steps,
            t_start=self.t,
            data=data,
            backend=self.backend_name,
            numeric=self.numeric,
            wall_time_s=wall,
            cost=cost,
        )
        self.t += steps
        return recording

    def run_batch(self, steps: int, inputs: Mapping[str, np.ndarray]) -> Recording:
        """Run independent trials, each from the reset state, and stack their records.

        Every array in ``inputs`` has a leading trial axis of the same length
        ``B``; every recorded array gets that leading axis, except weights,
        which are the same for every trial (static). Needs static
        weights (plasticity would make trials depend on each other). The
        simulation is left reset. Backends with ``native_batch`` run the
        trials in parallel; the others run them one by one.
        """
        self._ensure_open()
        steps = _check_steps(steps)
        plastic = [p.name for p in self.network.projections if p.plasticity is not None]
        if plastic:
            raise SpecError("run_batch", f"needs static weights, but {plastic} are plastic; run trials one by one")
        sizes = {name: len(np.asarray(value)) for name, value in inputs.items()}
        if not sizes or len(set(sizes.values())) != 1:
            raise SpecError("run_batch.inputs", f"every input needs the same leading trial axis; got lengths {sizes}")
        trials = next(iter(sizes.values()))
        self.reset()
        start = time.perf_counter()
        windows = [
            input_window(self.network, 0, steps, {name: np.asarray(value)[b] for name, value in inputs.items()})
            for b in range(trials)
        ]
        data = self._run_batch(windows)
        wall = time.perf_counter() - start
        self.reset()
        cost = self._count(data, windows, batched=True, learn=False, overrides=inputs)
        return Recording(self.network.dt, steps, 0, data, self.backend_name, self.numeric, wall, cost)

    def reset(self, weights: bool = False) -> None:
        """Return to the state before the first step; ``weights=True`` also restores the spec's weights."""
        self._ensure_open()
        self._reset(weights)
        self.t = 0
        self._in_transit = {}

    def weights(self, projection: str) -> np.ndarray:
        """Current weights ``(n_post, n_pre)`` of a projection, in float units."""
        self._ensure_open()
        self.network.projection(projection)
        return self._get_weights(projection)

    def set_weights(self, projection: str, weights: np.ndarray) -> None:
        """Replace a projection's weights (same shape, finite)."""
        self._ensure_open()
        proj = self.network.projection(projection)
        new = np.asarray(weights, dtype=float)
        if new.shape != np.shape(proj.weights):
            raise SpecError(f"set_weights[{projection!r}]", f"shape {new.shape}; expected {np.shape(proj.weights)}")
        if not np.all(np.isfinite(new)):
            raise SpecError(f"set_weights[{projection!r}]", "contains NaN or infinite values")
        self._set_weights(projection, new)
        if self.counting and proj.plasticity is None:  # a static projection's synapses are its non-zero weights
            exists = (new != 0) if proj.mask is None else (new != 0) & np.asarray(proj.mask, dtype=bool)
            self._fanouts[projection] = exists.sum(axis=0).astype(np.int64)

    @property
    def fixed_point(self) -> FixedPointModel | None:
        """The quantization this simulation runs (``numeric="fixed"``): scales, exponents, integer weights.

        None in float. Code that converts recorded integer values (fixed point
        records ``v`` in internal units) reads the scales here, never from a
        re-quantization with default options, which can differ from the
        backend's own (e.g. Lava's ``headroom_bits``, ``weight_ranges``).
        """
        return None

    def close(self) -> None:
        """Release simulator resources; idempotent."""
        if not self._closed:
            self._closed = True
            self._close()

    def __enter__(self) -> Simulation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"this {self.backend_name} simulation is closed; compile the network again")

    # -- what a backend implements -------------------------------------------------
    @abstractmethod
    def _run(self, window: InputWindow) -> dict[str, np.ndarray]:
        """Simulate ``window.steps`` steps and return the monitored arrays."""

    def _run_batch(self, windows: list[InputWindow]) -> dict[str, np.ndarray]:
        """Default: one trial after another from the reset state."""
        records = []
        for window in windows:
            self._reset(False)
            records.append(self._run(window))
        return self._stack_trials(records)

    def _stack_trials(self, records: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        """Per-trial records -> arrays with a leading trial axis (weights, the same in every trial, once)."""
        static = {m.key for m in self.network.monitors if m.variable == "weights"}
        return {
            key: records[0][key] if key in static else np.stack([rec[key] for rec in records]) for key in records[0]
        }

    @abstractmethod
    def _reset(self, weights: bool) -> None:
        """Reset the dynamic state (and the weights when asked)."""

    @abstractmethod
    def _get_weights(self, projection: str) -> np.ndarray: ...

    @abstractmethod
    def _set_weights(self, projection: str, weights: np.ndarray) -> None: ...

    def _close(self) -> None:  # noqa: B027 - optional hook
        """Free resources (default: nothing to free)."""


@dataclass
class Backend(ABC):
    """A simulator adapter. Subclasses set ``name`` and ``capabilities``.

    ``options`` are backend-specific settings (e.g. Brian2's code-generation
    target, snnTorch's device, Lava's timeout), passed on to the simulation.
    """

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    options: dict[str, Any] = field(default_factory=dict)

    @abstractmethod
    def available(self) -> Availability:
        """Whether the simulator can be imported and run here, with the reason if not."""

    def compile(
        self, network: Network, *, numeric: str = "float", count_operations: bool = True, **options: Any
    ) -> Simulation:
        """Validate ``network``, check it against the capabilities and build a simulation.

        With ``count_operations`` (the default) every run also returns its
        :class:`~spikemem.cost.OperationCounts` in :attr:`Recording.cost`: the
        protocol adds the spike monitors the count needs
        (:func:`spikemem.cost.with_cost_monitors`; they are recorded by the
        backend like any monitor and dropped from the returned data), so every
        backend counts from its own spikes with the same code.

        Raises
        ------
        SpecError
            The network is invalid.
        UnsupportedFeatureError
            The network needs something this backend cannot run.
        BackendUnavailableError
            The simulator is not installed or cannot run here.
        """
        network.validate()
        self.check_supported(network, numeric)
        availability = self.available()
        if not availability:
            raise BackendUnavailableError(f"backend {self.name!r} is unavailable: {availability.reason}")
        merged = {**self.options, **options}
        if not count_operations:
            return self._compile(network, numeric, merged)
        tails = tail_sources(network) if self._supplies_spike_tails(network, merged) else frozenset()
        counted, added = with_cost_monitors(network, tails)
        simulation = self._compile(counted, numeric, merged)
        simulation._enable_counting(added, tails)
        return simulation

    def _supplies_spike_tails(self, network: Network, options: dict[str, Any]) -> bool:
        """Whether the simulation of ``network`` supplies spike tails (``Simulation._spike_tails``; default: no).

        Then counting records per-neuron spike counts of the sources of
        :func:`spikemem.cost.counts.tail_sources` instead of their rasters
        (where recording a raster costs more than the run's tail).
        """
        return False

    def check_supported(self, network: Network, numeric: str) -> None:
        """Raise :class:`UnsupportedFeatureError` for what this backend cannot run.

        Generic checks: the numeric mode, then every plastic projection's rule
        class against ``capabilities.rule_types`` (the backend's rule table),
        its options against ``refused_options`` and, for ``numeric="fixed"``,
        its class against ``fixed_point_rule_types``; then the backend's own
        ``_check_supported``.
        """
        if numeric not in NUMERIC_MODES:
            raise SpecError("numeric", f"must be one of {NUMERIC_MODES}, got {numeric!r}")
        if numeric not in self.capabilities.numeric:
            raise UnsupportedFeatureError(
                "numeric", f"backend {self.name!r} runs {self.capabilities.numeric}, not {numeric!r}"
            )
        caps = self.capabilities
        for proj in network.projections:
            rule = proj.plasticity
            if rule is None:
                continue
            field = f"projections[{proj.name!r}].plasticity"
            if type(rule) not in caps.rule_types:
                raise refused_rule(field, rule, self.name, caps.rules)
            refused = [option for option in rule.options if option in caps.refused_options]
            if refused:
                raise UnsupportedFeatureError(
                    field, f"backend {self.name!r} runs {rule.name} but not with the option(s) {refused}"
                )
            if numeric == "fixed" and type(rule) not in caps.fixed_point_rule_types:
                raise refused_rule(
                    field, rule, self.name, caps.fixed_point_rules, "fixed", caps.fixed_point_reason(rule)
                )
        self._check_supported(network, numeric)

    def _check_supported(self, network: Network, numeric: str) -> None:  # noqa: B027 - optional hook
        """Backend-specific refusals (default: none)."""

    @abstractmethod
    def _compile(self, network: Network, numeric: str, options: dict[str, Any]) -> Simulation:
        """Build the simulator objects for a validated, supported network."""


def _graded_inputs(network: Network, windows: list[InputWindow], overrides: Mapping[str, np.ndarray]) -> dict[str, int]:
    """Population -> non-zero elements of its external current, summed over the trials (``windows``).

    A population fed by one :class:`~spikemem.spec.CurrentInput` is counted
    without going through the trials one by one: when the input is not
    overridden every trial gets the same block (the first trial's count times
    the trials); when it is, the overriding ``(B, n)`` constant or ``(B, S', n)``
    array is counted at once (its rows past the run do not enter the run; a
    shorter array is padded with zeros, which count nothing). A population fed
    by several inputs is counted on their sum, trial by trial.
    """
    feeding: dict[str, list[str]] = {}
    for inp in network.inputs:
        if isinstance(inp, CurrentInput):
            feeding.setdefault(inp.target, []).append(inp.name)
    steps = windows[0].steps
    counted: dict[str, int] = {}
    for target, block in windows[0].currents.items():
        names = feeding.get(target, [])
        if len(windows) == 1 or len(names) != 1:
            counted[target] = nonzero_total(w.currents[target] for w in windows)
        elif names[0] not in overrides:
            counted[target] = nonzero(block) * len(windows)
        else:
            given = np.asarray(overrides[names[0]])
            counted[target] = nonzero(given) * steps if given.ndim == 2 else nonzero(given[:, :steps])
    return counted


def _trials(arrays: list[np.ndarray], batched: bool) -> np.ndarray:
    """One array per trial -> ``(B, ...)`` when ``batched``, else the one array."""
    return np.stack(arrays) if batched else arrays[0]


def _last_steps(previous: np.ndarray | None, raster: np.ndarray, depth: int) -> np.ndarray:
    """``(1, depth, n)``: the last ``depth`` steps of the spikes so far (older runs' where this one is short)."""
    raster = raster[None] if raster.ndim == 2 else raster
    if previous is not None:
        raster = np.concatenate([previous, raster], axis=1)
    tail = raster[:, -depth:]
    if tail.shape[1] < depth:
        pad = np.zeros((tail.shape[0], depth - tail.shape[1], tail.shape[2]), dtype=bool)
        tail = np.concatenate([pad, tail], axis=1)
    return tail


def _check_steps(steps: int) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise SpecError("run.steps", f"must be an integer >= 1, got {steps!r}")
    return int(steps)
