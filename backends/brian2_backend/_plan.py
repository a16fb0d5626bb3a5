r"""The Brian2 model of a network as plain strings and constants (no brian2 import).

Every population and every spike input becomes a ``NeuronGroup`` without
differential equations; each step of the canonical update is explicit code in
Brian2's schedule slots:

=================  ==============================================================
slot               code
=================  ==============================================================
``groups``         membrane :math:`v \leftarrow \beta v + I_{ext}[t]` (held while
                   refractory), refractory countdown, trace decays
                   :math:`x \leftarrow \alpha x`, modulators of step ``t`` loaded
``before_thr.``    synaptic pathways ``v_post += w`` (spikes emitted at
                   ``t - d`` arrive: Brian2 delay ``(d - 1) dt``; discarded
                   while the target is refractory)
``thresholds``     :math:`v > v_{th}` (and not refractory); spike inputs fire
                   where their table holds 1 for step ``t``
``resets``         :math:`v \leftarrow v_{reset}` or :math:`v - v_{th}`,
                   refractory counter, traces :math:`x \leftarrow x + 1`, the
                   spike's step ``ls`` (rules read "spiked at ``t``" as
                   ``ls == t``; between runs it rebuilds the last step's
                   spikes, which Brian2 drops at the end of a run)
``end``            plasticity, in this order: a rule's ``basis`` term
                   :math:`B^\top B x` (summed variables of a helper
                   ``Synapses`` onto a helper group of ``k`` graded units),
                   OjaSubspace's graded activity :math:`y = W \tilde x` and
                   reconstruction :math:`W^\top y` (summed variables), then
                   :math:`W \leftarrow \mathrm{clip}(W + \Delta W)`
=================  ==============================================================

So a trace after the ``resets`` slot of step ``t`` is
:math:`\alpha x[t-1] + s[t]`, exactly :mod:`spikemem.learning`'s trace, and the
weight change of step ``t`` acts from step ``t + 1`` on.

Constants are never written into the code: they live in each object's
namespace, so that a compiled (cython) module is reused for any parameter
values of the same structure. The arithmetic is grouped like the reference's
(:func:`spikemem.learning.weight_change`) with temporaries, because Brian2
(through sympy) is free to reorder the factors of one product.

The refractory counter ``c`` counts down *before* the membrane update:
after a spike it is set to ``refractory_steps + 1``, so it is zero again
exactly ``refractory_steps`` steps later, like the reference's counter.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spikemem.backend import translation
from spikemem.spec import (
    MODULATED_RULES,
    CurrentInput,
    ErrorModulated,
    Hebb,
    Network,
    Oja,
    OjaSubspace,
    PairSTDP,
    PlasticityRule,
    Projection,
    ThreeFactor,
    trace_decay,
)
from spikemem.spec.inputs import SPIKE_SOURCE_TYPES
from spikemem.stimulus import InputWindow

LAST_SPIKE = "ls"
"""``integer`` variable of every population (and of spike inputs read by a rule): the step of the last spike."""
NEVER = -2
"""``LAST_SPIKE`` of a neuron that has not spiked (no step ``t - 1`` equals it)."""
SPIKED_PRE = f"int({LAST_SPIKE}_pre == t_in_timesteps)"
SPIKED_POST = f"int({LAST_SPIKE}_post == t_in_timesteps)"

UNBOUNDED = sys.float_info.max
"""Stands for a missing weight bound: ``clip(w, -UNBOUNDED, w_max)`` is exact for finite ``w``."""


@dataclass
class TablePlan:
    """A per-step input read through a TimedArray: ``name(t - name_t0, i)``.

    Attributes
    ----------
    name
        TimedArray name (also its key in the namespaces that use it).
    columns
        Number of columns (neurons or channels).
    kind
        ``"spikes"`` (an input's raster as 0/1), ``"current"`` (a population's
        summed external current), ``"modulator"`` (one projection's third
        factor, broadcast to its post neurons) or ``"phase"`` (one column: the
        trial phase of a batch model, :data:`PHASE_FIRST` ...).
    source
        The spec name the data come from (input, population or modulator).
    """

    name: str
    columns: int
    kind: str
    source: str

    def call(self) -> str:
        """The Brian2 expression of this step's value for neuron (or channel) ``i`` (column 0 of a one-column
        table, shared by every neuron)."""
        return f"{self.name}(t - {self.name}_t0, {'0' if self.kind == 'phase' else 'i'})"


@dataclass
class GroupPlan:
    """One ``NeuronGroup``: a population, or a spike input.

    Attributes
    ----------
    spec_name, brian_name
        Names in the spec and in Brian2 (``pop<i>`` / ``src<i>`` / ``aux<k>``).
    size
        Number of neurons.
    population
        True for an LIF population, False for a spike input (or a helper group).
    spiking
        False for a helper group of graded units (no threshold, no spikes).
    variables
        Model lines (``"v : 1"`` ...).
    threshold
        Threshold condition.
    reset
        Statements run for the neurons that spiked.
    step
        Statements of the ``groups`` slot other than the membrane update.
    namespace
        Constants used by the code.
    refractory
        Whether the population has refractory steps (counter ``c``).
    reads
        Every table the group's code reads.
    current
        Table of the population's external current, if it has current inputs.
    constant_current
        Whether every current input on it is constant in the spec (then the
        current is a per-neuron constant ``I_ext`` unless a run's data vary).
    spikes
        Table of a spike input's raster.
    batch_reset
        Batch models only: the reset to the initial state at a trial's
        first step (:func:`_add_batch_phase`).
    """

    spec_name: str
    brian_name: str
    size: int
    population: bool
    spiking: bool = True
    variables: list[str] = field(default_factory=list)
    threshold: str = ""
    reset: list[str] = field(default_factory=list)
    step: list[str] = field(default_factory=list)
    namespace: dict[str, float] = field(default_factory=dict)
    refractory: bool = False
    reads: list[TablePlan] = field(default_factory=list)
    current: TablePlan | None = None
    constant_current: bool = False
    spikes: TablePlan | None = None
    batch_reset: list[str] = field(default_factory=list)

    def membrane(self, drive: str) -> list[str]:
        r"""The membrane update of the ``groups`` slot with external drive ``drive``.

        ``drive`` is ``""`` (no current input), ``"I_ext"`` (constant) or a
        table call. Multiplying by ``int(...)`` (exactly 0 or 1) keeps the
        active branch bit-identical to :math:`\beta v + I`.
        """
        value = "beta*v" + (f" + {drive}" if drive else "")
        if not self.refractory:
            return [f"v = {value}"]
        return ["c = c - int(c > 0)", f"v = int(c == 0)*({value}) + int(c > 0)*v"]

    def step_code(self, drive: str) -> str:
        """Everything this group runs in the ``groups`` slot (a batch model's reset first)."""
        lines = self.batch_reset + (self.membrane(drive) if self.population else []) + self.step
        return "\n".join(lines)


@dataclass
class SynapseIndex:
    """Where a projection's Brian2 synapses sit in its ``(n_post, n_pre)`` weight matrix.

    Synapse ``n`` connects pre ``pre[n]`` to post ``post[n]``. A projection's own index is ordered by
    source neuron (:func:`_synapse_index`).
    """

    shape: tuple[int, int]
    post: np.ndarray
    pre: np.ndarray

    def dense(self, values: np.ndarray) -> np.ndarray:
        """The weight matrix with ``values`` at the synapses and zeros elsewhere."""
        weights = np.zeros(self.shape)
        weights[self.post, self.pre] = values
        return weights

    def values(self, weights: np.ndarray) -> np.ndarray:
        """The synapses' entries of a weight matrix."""
        return np.asarray(weights, dtype=float)[self.post, self.pre]

    def missing(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(post, pre)`` of the nonzero entries of ``weights`` that have no synapse."""
        present = np.zeros(self.shape, dtype=bool)
        present[self.post, self.pre] = True
        post, pre = np.nonzero((np.asarray(weights) != 0) & ~present)
        return post.astype(np.int32), pre.astype(np.int32)

    def repeated(self, copies: int) -> SynapseIndex:
        """The block-diagonal index of ``copies`` copies side by side (copy ``r``'s synapses after copy ``r-1``'s)."""
        rows, columns = self.shape
        post = np.concatenate([self.post + r * rows for r in range(copies)]).astype(np.int32)
        pre = np.concatenate([self.pre + r * columns for r in range(copies)]).astype(np.int32)
        return SynapseIndex((rows * copies, columns * copies), post, pre)

    def extend(self, post: np.ndarray, pre: np.ndarray) -> None:
        """Record synapses appended after the existing ones."""
        self.post = np.concatenate([self.post, post])
        self.pre = np.concatenate([self.pre, pre])


@dataclass
class SynapsePlan:
    """One ``Synapses`` object for a projection.

    Attributes
    ----------
    spec_name, brian_name
        Names in the spec and in Brian2 (``syn<k>``).
    pre, post
        Brian2 names of the source and target groups.
    index
        Positions of the synapses in the weight matrix.
    weights
        Initial weights of the synapses.
    model
        Synapse model lines.
    on_pre
        Transmission code.
    delay_steps
        The spec's delay ``d`` (Brian2 delay is ``(d - 1) dt``).
    learn
        Plasticity code of the ``end`` slot (``""`` for static weights).
    summed
        Summed variables (``"y3_post"`` ...) with their order in the ``end``
        slot (:data:`END_ORDER`).
    namespace
        Constants used by the code.
    """

    spec_name: str
    brian_name: str
    pre: str
    post: str
    index: SynapseIndex
    weights: np.ndarray
    model: list[str]
    on_pre: str
    delay_steps: int
    learn: str = ""
    summed: list[tuple[str, int]] = field(default_factory=list)
    namespace: dict[str, float] = field(default_factory=dict)

    @property
    def plastic(self) -> bool:
        return bool(self.learn)


@dataclass
class NetworkPlan:
    """Everything :mod:`._build` turns into Brian2 objects."""

    dt: float
    groups: dict[str, GroupPlan]
    synapses: dict[str, SynapsePlan]
    tables: list[TablePlan]
    helpers: dict[str, SynapsePlan] = field(default_factory=dict)
    """Static helper ``Synapses`` (a rule's basis term), by Brian2 name; not projections of the spec."""
    phase: TablePlan | None = None
    """A batch model's trial phase (:func:`_add_batch_phase`); ``None`` for an ordinary model."""
    copies: int = 1
    """A batch model's copies of the network side by side (trials that run in parallel); 1 otherwise."""
    gap: int = 0
    """A batch model's silent steps after each trial (the largest delay): no spike is in transit at the next
    trial's first step."""


@dataclass
class _RuleCode:
    """What a rule needs from its groups and its synapses."""

    pre_traces: dict[str, float] = field(default_factory=dict)
    post_traces: dict[str, float] = field(default_factory=dict)
    pre_variables: list[str] = field(default_factory=list)
    post_variables: list[str] = field(default_factory=list)
    model: list[str] = field(default_factory=list)
    summed: list[tuple[str, int]] = field(default_factory=list)
    learn: list[str] = field(default_factory=list)
    namespace: dict[str, float] = field(default_factory=dict)


END_ORDER = {"basis_activity": 0, "basis_term": 1, "activity": 2, "reconstruction": 3, "learn": 4, "monitor": 5}
"""Order of the code of the ``end`` slot: each summed variable from the values of step ``t`` before its users."""


def _basis_term(k: int) -> str:
    """Name of the pre variable holding :math:`(B^\top B x)_j` of projection ``k``'s rule."""
    return f"p{k}"


@dataclass(frozen=True)
class _RuleNames:
    r"""The Brian2 names a rule's code uses for projection ``k``.

    ``x`` and ``y`` name the traces (``x<k>_pre``, ``y<k>_post``),
    ``presynaptic`` the rule's presynaptic signal (:math:`x`, or
    :math:`x - B^\top B x` with a ``basis``), ``modulator`` the post variable
    holding :math:`M[t]` (:data:`~spikemem.spec.MODULATED_RULES`).
    """

    k: int
    dt: float
    modulator: str
    presynaptic: str

    @property
    def x(self) -> str:
        return f"x{self.k}"

    @property
    def y(self) -> str:
        return f"y{self.k}"


def _traces(rule: Hebb | Oja | PairSTDP, code: _RuleCode, names: _RuleNames) -> None:
    """Pre trace ``x`` and post trace ``y`` with the rule's time constants."""
    code.pre_traces[names.x] = trace_decay(rule.tau_pre, names.dt)
    code.post_traces[names.y] = trace_decay(rule.tau_post, names.dt)


def _hebb_code(rule: Hebb, code: _RuleCode, names: _RuleNames) -> str:
    r""":math:`\eta (y - \theta_{post})(x - \theta_{pre})`."""
    x, y = names.x, names.y
    _traces(rule, code, names)
    code.namespace.update(eta=rule.eta, theta_pre=rule.pre_offset, theta_post=rule.post_offset)
    code.learn = [f"dw_a = eta*({y}_post - theta_post)"]
    return f"dw_a*({x}_pre - theta_pre)"


def _oja_code(rule: Oja, code: _RuleCode, names: _RuleNames) -> str:
    r""":math:`\eta y (x - y w)`."""
    x, y = names.x, names.y
    _traces(rule, code, names)
    code.namespace.update(eta=rule.eta)
    code.learn = [f"dw_a = eta*{y}_post", f"dw_b = {x}_pre - {y}_post*w"]
    return "dw_a*dw_b"


def _oja_subspace_code(rule: OjaSubspace, code: _RuleCode, names: _RuleNames) -> str:
    r""":math:`\eta y (\tilde x - r)` with the reconstruction :math:`r = W^\top y` (a summed variable)."""
    k, x, y, presynaptic = names.k, names.x, names.y, names.presynaptic
    code.pre_traces[x] = trace_decay(rule.tau_pre, names.dt)
    if rule.activity == "graded":  # y = W x~, a summed variable of this step's traces
        code.post_variables.append(f"{y} : 1")
        code.model.append(f"{y}_post = w*({presynaptic}) : 1 (summed)")
        code.summed.append((f"{y}_post", END_ORDER["activity"]))
    else:
        code.post_traces[y] = trace_decay(rule.tau_post, names.dt)
    recon = f"r{k}"
    code.pre_variables.append(f"{recon} : 1")
    code.summed.append((f"{recon}_pre", END_ORDER["reconstruction"]))
    code.model.append(f"{recon}_pre = w*{y}_post : 1 (summed)")
    code.namespace.update(eta=rule.eta)
    code.learn = [f"dw_a = eta*{y}_post"]
    return f"dw_a*({presynaptic} - {recon}_pre)"


def _pair_stdp_code(rule: PairSTDP, code: _RuleCode, names: _RuleNames) -> str:
    r""":math:`A_+ s^{post} x - A_- y\, s^{pre}`."""
    x, y = names.x, names.y
    _traces(rule, code, names)
    code.namespace.update(a_plus=rule.a_plus, a_minus=rule.a_minus)
    code.learn = [f"dw_a = a_plus*{SPIKED_POST}*{x}_pre - a_minus*{y}_post*{SPIKED_PRE}"]
    return "dw_a"


def _three_factor_code(rule: ThreeFactor, code: _RuleCode, names: _RuleNames) -> str:
    r""":math:`\eta M e` with the synaptic eligibility :math:`e \leftarrow \alpha_e e + s^{post} x`."""
    x = names.x
    code.pre_traces[x] = trace_decay(rule.tau_pre, names.dt)
    code.model.append("elig : 1")
    code.namespace.update(eta=rule.eta, alpha_e=trace_decay(rule.tau_eligibility, names.dt))
    code.learn = [f"elig = alpha_e*elig + {SPIKED_POST}*{x}_pre", f"dw_a = eta*{names.modulator}_post"]
    return "dw_a*elig"


def _error_modulated_code(rule: ErrorModulated, code: _RuleCode, names: _RuleNames) -> str:
    r""":math:`\eta M \tilde x`."""
    code.pre_traces[names.x] = trace_decay(rule.tau_pre, names.dt)
    code.namespace.update(eta=rule.eta)
    code.learn = [f"dw_a = eta*{names.modulator}_post"]
    return f"dw_a*({names.presynaptic})"


RuleCodeBuilder = Callable[[Any, _RuleCode, _RuleNames], str]
r"""Fills a rule's traces, variables, model lines, namespace and ``learn`` lines; returns its :math:`\Delta w`."""

RULE_CODE: dict[type[PlasticityRule], RuleCodeBuilder] = {
    Hebb: _hebb_code,
    Oja: _oja_code,
    OjaSubspace: _oja_subspace_code,
    PairSTDP: _pair_stdp_code,
    ThreeFactor: _three_factor_code,
    ErrorModulated: _error_modulated_code,
}
"""Rule class -> its Brian2 code builder: exactly the rules the Brian2 backend runs (its capabilities)."""


def _rule_code(rule: PlasticityRule, k: int, dt: float, modulator: str, field_name: str = "plasticity") -> _RuleCode:
    r"""Brian2 code of projection ``k``'s rule, grouped like :func:`spikemem.learning.weight_change`.

    The rule's builder in :data:`RULE_CODE` gives :math:`\Delta w` from
    ``x<k>_pre`` and ``y<k>_post`` (the traces), ``SPIKED_PRE`` /
    ``SPIKED_POST`` (the spikes of this step, exactly 0 or 1) and
    ``modulator`` (the post variable holding :math:`M[t]`); the update
    :math:`w \leftarrow \mathrm{clip}(w + \Delta w, w_{min}, w_{max})` is the
    same for every rule.
    """
    build = translation(RULE_CODE, rule, "brian2", field_name)
    x = f"x{k}"
    presynaptic = f"{x}_pre - {_basis_term(k)}_pre" if getattr(rule, "basis", None) is not None else f"{x}_pre"
    code = _RuleCode()
    change = build(rule, code, _RuleNames(k=k, dt=dt, modulator=modulator, presynaptic=presynaptic))
    if rule.w_min is None and rule.w_max is None:
        code.learn.append(f"w = w + {change}")
    else:
        code.namespace.update(
            w_lo=-UNBOUNDED if rule.w_min is None else rule.w_min,
            w_hi=UNBOUNDED if rule.w_max is None else rule.w_max,
        )
        code.learn.append(f"w = clip(w + {change}, w_lo, w_hi)")
    return code


def _population_group(index: int, network: Network, name: str) -> GroupPlan:
    pop = network.population(name)
    neuron = pop.neuron
    group = GroupPlan(spec_name=name, brian_name=f"pop{index}", size=pop.size, population=True)
    group.refractory = neuron.refractory_steps > 0
    group.variables.append("v : 1")
    _add_last_spike(group)
    group.namespace.update(beta=neuron.beta(network.dt), v_th=float(neuron.v_th))
    group.threshold = "v > v_th"
    if neuron.reset == "subtract":
        group.reset.append("v = v - v_th")
    else:
        group.reset.append("v = v_reset")
        group.namespace["v_reset"] = float(neuron.v_reset)
    if group.refractory:
        group.variables.append("c : integer")
        group.threshold += " and c == 0"
        group.reset.append("c = c_reset")
        group.namespace["c_reset"] = int(neuron.refractory_steps) + 1
    currents = [inp for inp in network.inputs if isinstance(inp, CurrentInput) and inp.target == name]
    if currents:
        group.variables.append("I_ext : 1")
        group.current = TablePlan(f"cur{index}", pop.size, "current", name)
        group.reads.append(group.current)
        group.constant_current = all(inp.constant for inp in currents)
    return group


def _input_group(index: int, name: str, size: int) -> GroupPlan:
    group = GroupPlan(spec_name=name, brian_name=f"src{index}", size=size, population=False)
    group.spikes = TablePlan(f"spk{index}", size, "spikes", name)
    group.reads.append(group.spikes)
    group.threshold = f"{group.spikes.call()} > 0.5"
    return group


def _add_last_spike(group: GroupPlan) -> None:
    """Record each neuron's last spike step (every population; spike inputs whose spikes a rule reads)."""
    if f"{LAST_SPIKE} : integer" not in group.variables:
        group.variables.append(f"{LAST_SPIKE} : integer")
        group.reset.append(f"{LAST_SPIKE} = t_in_timesteps")


def spike_history(depth: int) -> list[str]:
    """The spike-step variables that keep a neuron's last ``depth`` spike steps: ``ls``, ``ls1`` ... (newest first)."""
    return [LAST_SPIKE] + [f"{LAST_SPIKE}{k}" for k in range(1, depth)]


def add_spike_history(group: GroupPlan, depth: int) -> None:
    r"""Keep each neuron's last ``depth`` spike steps (:func:`spike_history`), for the count's spike tail.

    At a spike the older steps shift by one before ``ls`` takes the step:
    :math:`ls_{k} \leftarrow ls_{k-1}` (oldest first), :math:`ls \leftarrow t`.
    A neuron spikes at most once per step, so its spikes of the last ``depth``
    steps are among these values. Initial and reset value :data:`NEVER`.
    """
    _add_last_spike(group)
    names = spike_history(depth)
    missing = [name for name in names[1:] if f"{name} : integer" not in group.variables]
    if not missing:
        return
    group.variables.extend(f"{name} : integer" for name in missing)
    at = group.reset.index(f"{LAST_SPIKE} = t_in_timesteps")
    shifts = [f"{names[k]} = {names[k - 1]}" for k in range(len(names) - 1, 0, -1)]
    group.reset[at:at] = shifts


SPIKE_COUNTER = "nspk"
"""A population's spike counter, counted in its reset code (:func:`add_spike_counter`)."""


def add_spike_counter(group: GroupPlan) -> None:
    r"""Count each neuron's spikes in its reset code: :math:`n \leftarrow n + 1` at a spike.

    For the spikes of a population that only the operation count reads (it
    feeds no projection): unlike a ``SpikeMonitor`` it adds no code object, so
    no Python call per step on the runtime targets; the reset code runs only
    where a neuron spiked.
    """
    if f"{SPIKE_COUNTER} : integer" not in group.variables:
        group.variables.append(f"{SPIKE_COUNTER} : integer")
        group.reset.append(f"{SPIKE_COUNTER} = {SPIKE_COUNTER} + 1")


def is_spike_step(variable: str) -> bool:
    """Whether a group variable holds a spike step (``ls``, ``ls1`` ...: reset to :data:`NEVER`, not 0)."""
    return variable == LAST_SPIKE or (variable.startswith(LAST_SPIKE) and variable[len(LAST_SPIKE) :].isdigit())


def _add_traces(group: GroupPlan, traces: dict[str, float]) -> None:
    for var, alpha in traces.items():
        group.variables.append(f"{var} : 1")
        group.namespace[f"alpha_{var}"] = alpha
        group.step.append(f"{var} = alpha_{var}*{var}")
        group.reset.append(f"{var} = {var} + 1")


def _synapse_index(proj: Projection) -> SynapseIndex:
    """Positions of the synapses Brian2 creates for ``proj``.

    Plastic projections get every synapse the mask allows (all-to-all without
    a mask: a zero weight may grow). Static ones get only their nonzero
    weights (zeros contribute nothing), so that a sparse matrix costs what
    its synapses cost.

    Ordered by source neuron (then target): Brian2 delivers a spike to its
    synapses in index order (``v_post[post[s]] += w[s]``), so one spike reads
    ``w`` and ``post`` contiguously. Ordered by target, each event was a cache
    miss: the 800 x 800 layer of the MLP inference spent ~3.5x longer in its
    C++ delivery (measured: program loop 0.78 -> 0.21 s for 200 samples).
    Every post neuron still receives its inputs in the order of the source
    neurons, so the sums, spikes and potentials are unchanged bit for bit.
    """
    weights = np.asarray(proj.weights, dtype=float)
    allowed = np.ones(weights.shape, dtype=bool) if proj.mask is None else np.asarray(proj.mask, dtype=bool)
    present = allowed if proj.plasticity is not None else allowed & (weights != 0)
    pre, post = np.nonzero(present.T)  # by source neuron: a spike's synapses are contiguous in memory
    return SynapseIndex(_matrix_shape(weights), post.astype(np.int32), pre.astype(np.int32))


def _matrix_shape(matrix: np.ndarray) -> tuple[int, int]:
    """The ``(rows, columns)`` of a 2-D ``matrix``."""
    rows, columns = matrix.shape
    return int(rows), int(columns)


def plan_network(network: Network) -> NetworkPlan:
    """Translate a validated ``network`` into the plan of its Brian2 objects."""
    groups: dict[str, GroupPlan] = {}
    for index, pop in enumerate(network.populations):
        groups[pop.name] = _population_group(index, network, pop.name)
    spike_inputs = [inp for inp in network.inputs if isinstance(inp, SPIKE_SOURCE_TYPES)]
    for index, inp in enumerate(spike_inputs):
        groups[inp.name] = _input_group(index, inp.name, inp.size)
    synapses: dict[str, SynapsePlan] = {}
    helpers: dict[str, SynapsePlan] = {}
    for k, proj in enumerate(network.projections):
        pre, post = groups[proj.pre], groups[proj.post]
        synapse_index = _synapse_index(proj)
        on_pre = "v_post += w*int(c_post == 0)" if post.refractory else "v_post += w"
        plan = SynapsePlan(
            spec_name=proj.name,
            brian_name=f"syn{k}",
            pre=pre.brian_name,
            post=post.brian_name,
            index=synapse_index,
            weights=synapse_index.values(proj.weights),
            model=["w : 1"],
            on_pre=on_pre,
            delay_steps=int(proj.delay),
        )
        rule = proj.plasticity
        if rule is not None:
            modulator = f"m{k}"
            code = _rule_code(rule, k, network.dt, modulator, f"projections[{proj.name!r}].plasticity")
            if any(SPIKED_PRE in line for line in code.learn):
                _add_last_spike(pre)
            _add_traces(pre, code.pre_traces)
            _add_traces(post, code.post_traces)
            pre.variables.extend(code.pre_variables)
            post.variables.extend(code.post_variables)
            basis = getattr(rule, "basis", None)
            if basis is not None:
                helper_group, helper = _basis_helper(k, pre, np.asarray(basis, dtype=float))
                groups[helper_group.brian_name] = helper_group
                helpers[helper.brian_name] = helper
            if isinstance(rule, MODULATED_RULES):
                table = TablePlan(f"mod{k}", post.size, "modulator", rule.modulator)
                post.reads.append(table)
                post.variables.append(f"{modulator} : 1")
                post.step.append(f"{modulator} = {table.call()}")
            plan.model.extend(code.model)
            plan.summed = list(code.summed)
            plan.learn = "\n".join(code.learn)
            plan.namespace.update(code.namespace)
        synapses[proj.name] = plan
    tables = [table for group in groups.values() for table in group.reads]
    return NetworkPlan(dt=network.dt, groups=groups, synapses=synapses, tables=tables, helpers=helpers)


PHASE_FIRST, PHASE_ON, PHASE_GAP = 1.0, 0.0, -1.0
"""Values of a batch model's phase table: a trial's first step (reset first), its other steps, a gap step."""


def batch_plan(network: Network, copies: int = 1) -> NetworkPlan:
    r"""The plan of a *batch model*: many independent trials of a static ``network`` in one Brian2 run.

    Trial ``b`` of ``S`` steps occupies steps :math:`b (S + G)` to :math:`b (S + G) + S - 1`, followed by
    :math:`G = \max_p d_p` gap steps (the largest delay) without input. A one-column ``phase`` table says
    which step is which (:data:`PHASE_FIRST`, :data:`PHASE_ON`, :data:`PHASE_GAP`):

    - at a trial's first step, before the membrane update (``groups`` slot, first), every population
      returns to its initial state: :math:`v \leftarrow v_0` (its ``v_init``), refractory counter 0;
    - no population spikes during a gap step (its threshold also requires ``phase > -0.5``), so after
      :math:`G` gap steps every spike of the trial has been delivered (a spike emitted at step ``t``
      arrives at ``t + d``, :math:`d \le G`) and none is in transit at the next trial's first step;
      what the gap delivers is wiped by that reset.

    Each trial therefore runs exactly as a run from the reset state (the reset multiplies by exact
    ``int`` 0/1 factors, like the refractory hold). Static weights only: plasticity would carry over
    from trial to trial (``Simulation.run_batch`` refuses plastic networks).

    With ``copies`` :math:`R > 1` the network is replicated side by side, so that :math:`R` trials run in
    parallel in each period: group sizes and table columns times :math:`R` (copy ``r`` holds neurons
    ``r n .. r n + n - 1``), each projection's synapses repeated in every copy (block diagonal), so that
    Brian2's per-step cost (one Python call per code object) is shared by :math:`R` trials.
    """
    plastic = [proj.name for proj in network.projections if proj.plasticity is not None]
    if plastic:
        raise ValueError(f"a batch model needs static weights; {plastic} are plastic")
    plan = plan_network(network)
    phase = TablePlan("phase", 1, "phase", "")
    for group in plan.groups.values():
        if not group.population:
            continue
        group.reads.append(phase)
        group.variables.append("v0 : 1")
        group.threshold += f" and {phase.call()} > -0.5"
        group.batch_reset = [f"p_b = {phase.call()}", "v = int(p_b > 0.5)*v0 + int(p_b < 0.5)*v"]
        if group.refractory:
            group.batch_reset.append("c = int(p_b < 0.5)*c")
    for table in {id(t): t for t in plan.tables}.values():
        table.columns *= copies
    plan.tables.append(phase)
    for group in plan.groups.values():
        group.size *= copies
    for synapses in plan.synapses.values():
        synapses.index = synapses.index.repeated(copies)
        synapses.weights = np.tile(synapses.weights, copies)
    plan.phase, plan.copies = phase, copies
    plan.gap = max((int(proj.delay) for proj in network.projections), default=1)
    return plan


def trial_phases(trials: int, steps: int, gap: int) -> np.ndarray:
    """The phase column ``(trials * (steps + gap), 1)`` of ``trials`` trials of a batch model."""
    one = np.full(steps + gap, PHASE_GAP)
    one[:steps] = PHASE_ON
    one[0] = PHASE_FIRST
    return np.tile(one, trials)[:, None]


def _basis_helper(k: int, pre: GroupPlan, basis: np.ndarray) -> tuple[GroupPlan, SynapsePlan]:
    r"""The basis term :math:`p = B^\top (B x)` of projection ``k``'s rule, on its pre group.

    A helper group of ``len(B)`` graded units holds :math:`b = B x` (the
    consolidated lateral neurons' activity); static helper synapses with
    weights ``B`` sum it and feed :math:`B^\top b` back to the pre group.
    """
    units, name = f"b{k}", _basis_term(k)
    group = GroupPlan(spec_name=f"aux{k}", brian_name=f"aux{k}", size=basis.shape[0], population=False, spiking=False)
    group.variables.append(f"{units} : 1")
    pre.variables.append(f"{name} : 1")
    post, pre_index = np.nonzero(np.ones(basis.shape, dtype=bool))
    index = SynapseIndex(_matrix_shape(basis), post.astype(np.int32), pre_index.astype(np.int32))
    helper = SynapsePlan(
        spec_name=f"aux{k}",
        brian_name=f"bas{k}",
        pre=pre.brian_name,
        post=group.brian_name,
        index=index,
        weights=index.values(basis),
        model=["w : 1", f"{units}_post = w*x{k}_pre : 1 (summed)", f"{name}_pre = w*{units}_post : 1 (summed)"],
        on_pre="",
        delay_steps=1,
        summed=[(f"{units}_post", END_ORDER["basis_activity"]), (f"{name}_pre", END_ORDER["basis_term"])],
    )
    return group, helper


@dataclass
class WindowInputs:
    """What one window (or chunk) of inputs sets in the Brian2 network.

    Attributes
    ----------
    tables
        TimedArray name -> ``(steps, columns)`` values. A population's current
        table appears only when its current varies within the window.
    constant_currents
        Population name -> ``(size,)`` current for populations whose current
        inputs are constant in the spec and constant in this window.
    """

    tables: dict[str, np.ndarray]
    constant_currents: dict[str, np.ndarray]

    def current_mode(self, population: str) -> str:
        """``"constant"`` or ``"table"`` for a population with current inputs."""
        return "constant" if population in self.constant_currents else "table"


def window_inputs(plan: NetworkPlan, window: InputWindow, start: int, stop: int) -> WindowInputs:
    """The inputs of rows ``start:stop`` of ``window`` as table values and constant currents."""
    tables: dict[str, np.ndarray] = {}
    constants: dict[str, np.ndarray] = {}
    for name, group in plan.groups.items():
        if group.current is not None:
            block = window.currents[name][start:stop]
            if group.constant_current and bool(np.all(block == block[:1])):
                constants[name] = block[0]
            else:
                tables[group.current.name] = block
        if group.spikes is not None:
            tables[group.spikes.name] = window.spikes[name][start:stop].astype(float)
    for table in plan.tables:
        if table.kind == "modulator":
            values = window.modulators[table.source][start:stop]
            tables[table.name] = np.broadcast_to(values, (len(values), table.columns))
    return WindowInputs(tables, constants)
