r"""Dense associative memory as spiking feature-memory networks.

**Polynomial memory** (Krotov & Hopfield 2016, :math:`F(x) = x^n`). With
overlaps :math:`a_\mu = \xi^\mu \cdot \sigma` the exact update of feature
:math:`i` is

.. math::

    \sigma_i \leftarrow \operatorname{sign} \sum_\mu \Bigl[
        F(\xi^\mu_i + a^{(i)}_\mu) - F(-\xi^\mu_i + a^{(i)}_\mu) \Bigr],
    \qquad a^{(i)}_\mu = a_\mu - \xi^\mu_i \sigma_i ,

i.e. with :math:`g(y) = [F(y+1) - F(y-1)]/2` and
:math:`G^\pm_\mu = g(a_\mu \pm 1)`:

.. math::

    h^{on}_i = \sum_\mu [\xi^\mu_i{=}1]\, G^-_\mu - [\xi^\mu_i{=}{-1}]\, G^+_\mu
    \quad (\sigma_i = +1), \qquad
    h^{off}_i = \sum_\mu [\xi^\mu_i{=}1]\, G^+_\mu - [\xi^\mu_i{=}{-1}]\, G^-_\mu
    \quad (\sigma_i = -1).

All features update at once (each with its own leave-one-out field); a tie
keeps the state. The spiking network (clock of :mod:`spikemem.memory.encoding`,
period 3) has three populations:

- ``features`` (N): the state; reads at phase 0, wiped at phase 1.
- ``memory`` (K x N threshold units, plus N copies): the nonlinearity. Overlaps lie on the
  lattice :math:`a \in \{-N, -N+2, \dots, N\}`; for each pattern and each
  lattice level :math:`l` above the level :math:`a_0` nearest 0 a unit
  fires iff :math:`a_\mu \ge l` (input :math:`2\xi^\mu\cdot x - \sum_j \xi^\mu_j
  - l + 1`, threshold 1/2), below it iff :math:`a_\mu \le l`. Any function of
  :math:`a_\mu` is then exactly :math:`f(a_0) + \sum_{units} \Delta f\, s_{unit}`
  (a staircase with one step per lattice level), which is how the memory
  layer realises :math:`G^\pm`: the output weights carry the increments
  :math:`\Delta G^\pm`. Reads at phase 1, wiped at phase 2.
  The last N units of ``memory`` are copies of the features (weight 1,
  threshold 1/2): they carry the state one step further, to the candidates.
- ``candidates`` (2N): rows ``0..N-1`` compute :math:`h^{on}`, rows ``N..2N-1``
  :math:`h^{off}` (weights :math:`\Delta G`, bias currents :math:`f(a_0)` terms).
  A gate from the copy units (weight :math:`\pm K_g`, with
  :math:`K_g > \max|h|`) lets the *on* candidate fire only if
  :math:`\sigma_i = +1` (iff :math:`h^{on} \ge 0`) and the *off* candidate only
  if :math:`\sigma_i = -1` (iff :math:`h^{off} > 0`). Reads at phase 2, wiped
  at phase 0. Both feed feature :math:`i` (weight 1; the feature's read
  current is -1/2): the new state is "one of them fired".

Every projection has delay 1.

Every quantity is an integer (or half-integer), so the fields are exact in
float64 on every backend. ``n = 2`` is the classical Hopfield rule with
:math:`J_{ii} = 0`.

**Winner-take-all memory** (the softmax limit :math:`\beta \to \infty` of the
modern Hopfield update :math:`\sigma \leftarrow \Xi\,\mathrm{softmax}(\beta \Xi^\top \sigma)`,
which returns the pattern of largest overlap). ``features`` (N) fire the cue
at every step of a race; each ``memory`` unit :math:`\mu` (K, leaky,
:math:`\tau = 20\,dt`) integrates :math:`a_\mu` plus a common ramp current
chosen so that unit :math:`\mu` crosses threshold exactly at the first step
where :math:`a_\mu > \theta(t)`, :math:`\theta(t) = N + 1 - 2(t - 1)`, one
lattice level per step: the unit with the largest overlap fires first, and
its spike inhibits every other unit (lateral weights :math:`-B`, delay 1)
for the rest of the race. ``output`` (N) neurons receive the winner's spikes
through weights :math:`\xi^\mu_i` and fire where :math:`\xi^{winner}_i = +1`;
the recalled state is "the output neuron fired during the race" (patterns
tied for the largest overlap fire together and give their mixture, with
:math:`-1` where they disagree). The trial
ends with a wipe of ``memory`` whose lateral inhibition is cancelled exactly
by a current at the next step, and a wipe of ``output``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from spikemem.evaluation.memory import Readout
from spikemem.memory.encoding import (
    DT,
    TAU_MEM,
    RecallNetwork,
    cue_current,
    max_input,
    periodic_current,
    wipe_current,
)
from spikemem.spec import LIF, CurrentInput, Monitor, Network, Population, Projection

FEATURE_THRESHOLD = 0.25
UNIT_THRESHOLD = 0.5
CANDIDATE_THRESHOLD = 0.25
TAU_RACE = 20e-3


def half_difference(power: int) -> Callable[[npt.ArrayLike], np.ndarray]:
    r""":math:`g(y) = [F(y+1) - F(y-1)]/2` for :math:`F(x) = x^n` (an integer for integer :math:`y`)."""

    def g(y: npt.ArrayLike) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        return ((y + 1.0) ** power - (y - 1.0) ** power) / 2.0

    return g


def overlap_lattice(n_features: int) -> tuple[int, np.ndarray, np.ndarray]:
    """``(a0, upper, lower)``: the lattice value nearest 0 and the levels above (ascending) and below (descending)."""
    lattice = np.arange(-n_features, n_features + 1, 2)
    a0 = int(lattice[np.argmin(np.abs(lattice) + 0.5 * (lattice < 0))])
    return a0, lattice[lattice > a0], lattice[lattice < a0][::-1]


def build_polynomial_memory(patterns: np.ndarray, power: int = 3, updates: int = 4, name: str = "") -> RecallNetwork:
    """Exact synchronous Krotov-Hopfield memory with :math:`F(x) = x^n` (see the module docstring)."""
    xi = np.asarray(patterns, dtype=np.float64)
    k_patterns, n = xi.shape
    if power < 2:
        raise ValueError(f"power n must be >= 2, got {power}")
    g = half_difference(power)
    a0, upper, lower = overlap_lattice(n)
    levels = np.concatenate([upper, lower])
    side = np.concatenate([np.ones(len(upper)), -np.ones(len(lower))])
    previous = np.concatenate([upper - 2, lower + 2])  # the level one step closer to a0
    d_minus = g(levels - 1) - g(previous - 1)  # increments of G-(a) = g(a - 1)
    d_plus = g(levels + 1) - g(previous + 1)  # increments of G+(a) = g(a + 1)
    per = len(levels)
    units = k_patterns * per

    # features -> memory: unit (mu, level) reads side * a_mu; bias makes it fire iff a >= l (or a <= l)
    w_fm = (xi[:, None, :] * (2.0 * side)[None, :, None]).reshape(units, n)
    sums = np.repeat(xi.sum(axis=1), per)
    levels_all = np.tile(levels, k_patterns)
    side_all = np.tile(side, k_patterns)
    memory_bias = np.where(side_all > 0, -sums - levels_all + 1.0, sums + levels_all + 1.0)

    plus = (xi > 0).astype(np.float64)  # (K, N)
    minus = (xi < 0).astype(np.float64)
    w_on = (plus.T[:, :, None] * d_minus[None, None, :] - minus.T[:, :, None] * d_plus[None, None, :]).reshape(n, units)
    w_off = (plus.T[:, :, None] * d_plus[None, None, :] - minus.T[:, :, None] * d_minus[None, None, :]).reshape(
        n, units
    )
    g_minus0, g_plus0 = float(g(a0 - 1)), float(g(a0 + 1))
    base_on = plus.sum(axis=0) * g_minus0 - minus.sum(axis=0) * g_plus0
    base_off = plus.sum(axis=0) * g_plus0 - minus.sum(axis=0) * g_minus0
    field_bound = k_patterns * float(np.abs(g(np.arange(-n - 1, n + 2))).max())
    gate = float(np.ceil(field_bound + 2.0))

    eye = np.eye(n)
    # memory = staircase units + N copies of the features (the gate's source)
    w_fm = np.vstack([w_fm, eye])
    memory_bias = np.concatenate([memory_bias, np.zeros(n)])
    w_mc = np.vstack([np.hstack([w_on, gate * eye]), np.hstack([w_off, -gate * eye])])
    w_cf = np.hstack([eye, eye])
    candidate_read = np.concatenate([base_on + 0.5 - gate, base_off - 0.5])
    cells = units + n

    trial_steps = 3 * updates + 3
    reads = [3 * c for c in range(1, updates + 1)]
    cue = cue_current(max_input(w_cf), FEATURE_THRESHOLD)
    wipe_f = wipe_current(max_input(w_cf), cue, FEATURE_THRESHOLD)
    wipe_m = wipe_current(max_input(w_fm), float(np.abs(memory_bias).max()), UNIT_THRESHOLD)
    wipe_c = wipe_current(max_input(w_mc), float(np.abs(candidate_read).max()), CANDIDATE_THRESHOLD)
    feature_clock = periodic_current(
        trial_steps, n, {**{t: -0.5 for t in reads}, **{t: wipe_f for t in range(1, trial_steps, 3)}}
    )
    memory_clock = periodic_current(
        trial_steps,
        cells,
        {**{t: memory_bias for t in range(1, trial_steps, 3)}, **{t: wipe_m for t in range(2, trial_steps, 3)}},
    )
    candidate_clock = periodic_current(
        trial_steps,
        2 * n,
        {**{t: candidate_read for t in range(2, trial_steps, 3)}, **{t: wipe_c for t in range(0, trial_steps, 3)}},
    )
    network = Network(
        dt=DT,
        populations=[
            Population("features", n, LIF(tau_mem=TAU_MEM, v_th=FEATURE_THRESHOLD)),
            Population("memory", cells, LIF(tau_mem=TAU_MEM, v_th=UNIT_THRESHOLD)),
            Population("candidates", 2 * n, LIF(tau_mem=TAU_MEM, v_th=CANDIDATE_THRESHOLD)),
        ],
        projections=[
            Projection("features", "memory", w_fm, delay=1, name="features->memory"),
            Projection("memory", "candidates", w_mc, delay=1, name="memory->candidates"),
            Projection("candidates", "features", w_cf, delay=1, name="candidates->features"),
        ],
        inputs=[
            CurrentInput("feature_clock", "features", feature_clock),
            CurrentInput("memory_clock", "memory", memory_clock),
            CurrentInput("candidate_clock", "candidates", candidate_clock),
            CurrentInput("cue", "features", np.zeros((1, n))),
        ],
        monitors=[
            Monitor("features", "spikes"),
            Monitor("features", "count"),
            Monitor("memory", "count"),
            Monitor("candidates", "count"),
        ],
        name=name or f"polynomial-n{power}",
    ).validate()

    def encode(cues: np.ndarray) -> np.ndarray:
        return (cue * np.where(np.asarray(cues) > 0, 1.0, -1.0))[:, None, :]

    return RecallNetwork(
        network=network,
        readout=Readout("features", tuple([0, *reads]), trial_steps),
        cue_input="cue",
        encode_cue=encode,
        clocks=("feature_clock", "memory_clock", "candidate_clock"),
        sources=("features", "memory", "candidates"),
        info={
            "model": f"polynomial F(x)=x^{power}",
            "memory_units": units,
            "neurons": n + cells + 2 * n,
            "gate": gate,
            "trial_steps": trial_steps,
        },
    )


def race_ramp(n_features: int, beta: float, v_th: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Race thresholds :math:`\theta(t)` and ramp currents :math:`r(t)` for steps ``t = 0 .. R-1``.

    A unit integrating :math:`v(t) = \beta v(t-1) + a + r(t)` from
    :math:`v(0) = 0` has :math:`v(t) = a\,g(t) + R(t)` with
    :math:`g(t) = \sum_{k=1}^t \beta^{t-k}`; choosing
    :math:`R(t) = v_{th} - \theta(t)\, g(t)` makes it cross exactly when
    :math:`a > \theta(t)`. :math:`\theta` falls by 2 (one lattice level) per
    step from :math:`N + 1` until it is below 0.
    """
    thetas = [math.nan]
    theta = n_features + 1
    while theta >= -1:
        thetas.append(float(theta))
        theta -= 2
    theta_arr = np.array(thetas)
    ramp = np.zeros(len(theta_arr))
    gain, big_r_prev = 0.0, 0.0
    for t in range(1, len(theta_arr)):
        gain = beta * gain + 1.0
        big_r = v_th - theta_arr[t] * gain
        ramp[t] = big_r - beta * big_r_prev
        big_r_prev = big_r
    return theta_arr, ramp


def build_winner_take_all(patterns: np.ndarray, name: str = "winner-take-all") -> RecallNetwork:
    """Winner-take-all memory by lateral inhibition, the softmax limit (see the module docstring)."""
    xi = np.asarray(patterns, dtype=np.float64)
    k_patterns, n = xi.shape
    memory_neuron = LIF(tau_mem=TAU_RACE, v_th=UNIT_THRESHOLD)
    beta = memory_neuron.beta(DT)
    _, ramp = race_ramp(n, beta, UNIT_THRESHOLD)
    race = len(ramp)  # steps 0 .. race-1; features fire the cue at steps 0 .. race-2
    wipe_step = race
    trial_steps = race + 2
    sums = xi.sum(axis=1)
    growth = float(np.sum(n + np.abs(sums).max() + np.abs(ramp)))
    inhibition = float(np.ceil((growth + UNIT_THRESHOLD + 1.0) / beta**trial_steps))
    lateral = -inhibition * (1.0 - np.eye(k_patterns))

    memory_values: dict[int, np.ndarray | float] = {t: -sums + ramp[t] for t in range(1, race)}
    accumulated = (k_patterns - 1) * inhibition / (1.0 - beta)
    wipe_m = wipe_current(accumulated + 2.0 * n, float(np.abs(sums).max() + np.abs(ramp).max()), UNIT_THRESHOLD)
    memory_values[wipe_step] = wipe_m
    memory_values[wipe_step + 1] = (k_patterns - 1) * inhibition  # cancels the wipe's lateral inhibition exactly
    memory_clock = periodic_current(trial_steps, k_patterns, memory_values)

    output_neuron = LIF(tau_mem=TAU_MEM, v_th=UNIT_THRESHOLD)
    output_beta = output_neuron.beta(DT)
    wipe_o = wipe_current(k_patterns + trial_steps / (1.0 - output_beta), 0.0, UNIT_THRESHOLD)
    output_clock = periodic_current(trial_steps, n, {wipe_step + 1: wipe_o})

    network = Network(
        dt=DT,
        populations=[
            Population("features", n, LIF(tau_mem=TAU_MEM, v_th=UNIT_THRESHOLD)),
            Population("memory", k_patterns, memory_neuron),
            Population("output", n, output_neuron),
        ],
        projections=[
            Projection("features", "memory", 2.0 * xi, delay=1, name="features->memory"),
            Projection("memory", "memory", lateral, delay=1, name="lateral"),
            Projection("memory", "output", xi.T.copy(), delay=1, name="memory->output"),
        ],
        inputs=[
            CurrentInput("memory_clock", "memory", memory_clock),
            CurrentInput("output_clock", "output", output_clock),
            CurrentInput("cue", "features", np.zeros((1, n))),
        ],
        monitors=[
            Monitor("output", "spikes"),
            Monitor("features", "count"),
            Monitor("memory", "count"),
            Monitor("output", "count"),
        ],
        name=name,
    ).validate()

    def encode(cues: np.ndarray) -> np.ndarray:
        on = (np.asarray(cues) > 0).astype(np.float64)
        return np.repeat(on[:, None, :], race - 1, axis=1)

    return RecallNetwork(
        network=network,
        readout=Readout("output", tuple(range(2, wipe_step + 1)), trial_steps, mode="window"),
        cue_input="cue",
        encode_cue=encode,
        clocks=("memory_clock", "output_clock"),
        sources=("features", "memory", "output"),
        info={"model": "winner-take-all", "inhibition": inhibition, "race_steps": race, "trial_steps": trial_steps},
    )
