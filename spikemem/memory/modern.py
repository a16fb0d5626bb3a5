r"""Modern Hopfield memory at finite inverse temperature :math:`\beta`, sampled by a spiking race.

The continuous update of Ramsauer et al. 2020 ("Hopfield Networks is All You
Need", ICLR 2021), for stored patterns :math:`X = (x_1, \dots, x_K)`
(:math:`x_\mu \in \{-1, +1\}^N`) and a state :math:`\xi`, is

.. math::

    \xi^{new} = X\, p, \qquad p = \operatorname{softmax}(\beta X^\top \xi),
    \qquad p_\mu = \frac{e^{\beta a_\mu}}{\sum_\nu e^{\beta a_\nu}},
    \quad a_\mu = x_\mu \cdot \xi .

(:func:`spikemem.memory.theory.modern_hopfield_update` is the numpy oracle.)

**Sampling the softmax with spikes.** The network draws samples
:math:`\mu_s \sim p` and its output population reads :math:`x_{\mu_s}`
back; the time average over :math:`T` samples,
:math:`\bar x_T = \frac1T \sum_s x_{\mu_s}`, is an unbiased estimate of
:math:`X p` with error :math:`O(1/\sqrt T)`. A sample is the **Gumbel-max**
choice

.. math::

    \mu_s = \arg\max_\mu\, (\beta a_\mu + g_{s\mu}), \qquad
    g_{s\mu} = -\ln(-\ln U_{s\mu}), \; U \sim \mathcal U(0, 1),

which is an exact sample of :math:`p` (Gumbel 1954; Maddison, Tarlow & Minka
2014). It is the same thing as the first spike of :math:`K` Poisson neurons
with rates :math:`\propto e^{\beta a_\mu}` (the first arrival
:math:`E_\mu e^{-\beta a_\mu}` with :math:`E_\mu \sim` Exp(1) is smallest
where :math:`\beta a_\mu - \ln E_\mu` is largest, and :math:`-\ln E_\mu` is
Gumbel): the stochastic winner-take-all circuit of Nessler, Pfeiffer,
Buesing & Maass (PLoS Comput. Biol. 2013), in which the first neuron to fire
under exponential escape noise silences the others by lateral inhibition.
Here the escape noise is drawn in numpy from the experiment's seed and fed
in as a current, so the network itself is deterministic LIF dynamics that
every backend runs unchanged: **the same seed gives the same spikes on every
float backend** (and the network's choice equals :func:`race_winners`).

**The race** (one sample = one trial of :math:`R + 3` steps). A threshold
falls through the perturbed fields :math:`u_\mu = \beta a_\mu + g_\mu` in
:math:`R` equal steps,

.. math::

    \theta(t) = \theta_{hi} - \delta\,(t - 1), \quad t = 1 \dots R, \qquad
    \theta_{hi} = \beta N + \max_\mu g_\mu, \qquad \delta = \frac{2\beta N}{R - 2},

and unit :math:`\mu` fires at the first step where :math:`u_\mu > \theta(t)`.
Every :math:`u_\mu \le \theta_{hi}`, and the unit of largest noise has
:math:`u \ge -\beta N + \max g > \theta(R)`, so some unit always fires. Since
:math:`a_\mu` lies on the lattice :math:`\{-N, -N+2, \dots, N\}`,
":math:`u_\mu > \theta(t)`" is ":math:`a_\mu > \tilde\theta_\mu(t)`" with the
integer threshold :math:`\tilde\theta_\mu(t) = m - 1`, :math:`m` the
smallest lattice value above :math:`(\theta(t) - g_\mu)/\beta` (clipped to
:math:`[-N-1, N+1]`): every comparison the network makes has margin 1, and
every current is a multiple of 1/2, so the race is exact in floating point
on every backend (and in Lava's fixed point). :math:`\beta` enters only the
drive currents, so one network samples at every :math:`\beta`
(:meth:`ModernHopfieldNetwork.at_beta`).

Populations (all projections delay 1):

- ``features`` (N): fire the cue's +1 entries at step 0.
- ``memory`` (K, non-leaky LIF, :math:`v_{th} = 1/2`): weights
  :math:`2 x_\mu` from the features give :math:`a_\mu + \sum_i x_{\mu i}` at
  step 1; the drive current :math:`c_\mu(1) = v_{th} - \tilde\theta_\mu(1) -
  \sum_i x_{\mu i}`, :math:`c_\mu(t) = \tilde\theta_\mu(t-1) - \tilde\theta_\mu(t)`
  (:math:`t \ge 2`) makes :math:`v_\mu(t) = a_\mu - \tilde\theta_\mu(t) + v_{th}`:
  the unit fires iff :math:`a_\mu > \tilde\theta_\mu(t)`. Lateral weights
  :math:`-B` onto every unit, itself included (:math:`B = 2N + 4` > any
  potential the race builds): the first spike silences the whole layer for
  the rest of the race, and the winner fires once. Step :math:`R+1` wipes the
  layer (:math:`H` makes every unit fire and reset), step :math:`R+2` cancels
  the wipe's inhibition exactly (:math:`+K B`).
- ``output`` (2N): rows :math:`i` (weights :math:`x_{\mu i}`) and
  :math:`N + i` (weights :math:`-x_{\mu i}`) from the memory; the step after
  the winner, row :math:`i` fires iff :math:`x_{\mu_s i} = +1` and row
  :math:`N+i` iff it is :math:`-1`. The sample is "row i fired" minus "row
  N+i fired" over the window (steps :math:`2 \dots R+1`); wiped at :math:`R+2`.

**Resolution.** Units whose :math:`u` fall in the same step's interval
(width :math:`\delta`) fire together: a *tie*. The output then shows
:math:`\operatorname{sign}\sum_{tied} x_\mu` (0 where two tied patterns
disagree: their mean). The top two perturbed fields are within
:math:`\delta` with probability :math:`\le 1 - e^{-\delta}`
(:func:`spikemem.memory.theory.tie_probability_bound`), so a sample's law is
within that total-variation distance of :math:`p`. The race costs
:math:`R + 3` steps per sample; :math:`\delta` shrinks as :math:`1/R`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from spikemem.backend import Backend, Simulation
from spikemem.evaluation.memory import cost, counts_from_recording, fan_out, trial_rasters
from spikemem.memory.encoding import DT, TAU_MEM, cue_current, periodic_current, wipe_current
from spikemem.memory.recall import CHUNK_ELEMENTS, CHUNK_STEPS, Progress
from spikemem.spec import LIF, CurrentInput, Monitor, Network, Population, Projection

UNIT_THRESHOLD = 0.5
DEFAULT_RACE_STEPS = 64
"""Race length :math:`R` (steps per sample, plus 3)."""


# -- the race, in numpy ---------------------------------------------------------------------------
def gumbel_noise(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    r"""Standard Gumbel noise :math:`-\ln(-\ln U)`, :math:`U \sim \mathcal U(0, 1)` (open interval)."""
    u = rng.random(shape)
    u = np.where(u > 0.0, u, np.finfo(float).tiny)
    return -np.log(-np.log(u))


def race_resolution(n_features: int, beta: float, race_steps: int) -> float:
    r"""Race step :math:`\delta = 2\beta N / (R - 2)` in units of the perturbed field."""
    return 2.0 * beta * n_features / (race_steps - 2)


def race_thresholds(noise: np.ndarray, n_features: int, beta: float, race_steps: int) -> np.ndarray:
    r"""Integer thresholds :math:`\tilde\theta_\mu(t)` on the overlap, ``(S, R, K)`` for noise ``(S, K)``.

    Unit :math:`\mu` fires at step :math:`t` (``t = 1 .. R``, row ``t - 1``)
    iff :math:`a_\mu > \tilde\theta_\mu(t)` iff
    :math:`\beta a_\mu + g_\mu > \theta(t)` (see the module docstring).
    """
    noise = np.asarray(noise, dtype=np.float64)
    n = n_features
    delta = race_resolution(n, beta, race_steps)
    theta = (beta * n + noise.max(axis=1))[:, None] - delta * np.arange(race_steps)[None, :]  # (S, R)
    y = (theta[:, :, None] - noise[:, None, :]) / beta  # threshold on a, (S, R, K)
    smallest_above = -n + 2.0 * (np.floor((y + n) / 2.0) + 1.0)  # smallest lattice value > y
    return np.clip(smallest_above - 1.0, -n - 1.0, n + 1.0)


def race_winners(patterns: np.ndarray, cues: np.ndarray, noise: np.ndarray, beta: float, race_steps: int) -> np.ndarray:
    """What the spiking race picks: ``(S, K)`` bool, the units that fire first (more than one: a tie).

    ``cues`` ``(S, N)`` in +-1 (one per sample), ``noise`` ``(S, K)``.
    """
    xi = np.asarray(patterns, dtype=np.float64)
    overlaps = np.asarray(cues, dtype=np.float64) @ xi.T
    crossed = overlaps[:, None, :] > race_thresholds(noise, xi.shape[1], beta, race_steps)  # (S, R, K)
    first = np.where(crossed.any(axis=1), crossed.argmax(axis=1), race_steps)
    return first == first.min(axis=1, keepdims=True)


def race_samples(patterns: np.ndarray, winners: np.ndarray) -> np.ndarray:
    r"""The sample the output population shows: :math:`\operatorname{sign} \sum_{winners} x_\mu`, ``(S, N)``."""
    summed = np.asarray(winners, dtype=np.float64) @ np.asarray(patterns, dtype=np.float64)
    return np.sign(summed).astype(np.int8)


def clustered_patterns(
    rng: np.random.Generator, clusters: int, members: int, n_features: int, spread: float
) -> tuple[np.ndarray, np.ndarray]:
    r"""``clusters`` random prototypes, each with ``members`` copies flipped at a fraction ``spread`` of sites.

    Every pattern is distinct (a copy equal to an earlier pattern is drawn
    again), so each has a separation :math:`\Delta_i > 0`. Returns the
    ``(clusters * members, N)`` patterns (cluster by cluster) and each
    pattern's cluster index.
    """
    if not 0.0 <= spread <= 0.5:
        raise ValueError(f"spread must be in [0, 0.5], got {spread!r}")
    if clusters * members > 2**n_features:
        raise ValueError(f"{clusters * members} distinct patterns do not exist in N={n_features} dimensions")
    prototypes = np.where(rng.random((clusters, n_features)) < 0.5, -1, 1)
    patterns: list[np.ndarray] = []
    seen: set[bytes] = set()
    for c in range(clusters):
        for _ in range(members):
            for _attempt in range(1000):
                member = np.where(rng.random(n_features) < spread, -prototypes[c], prototypes[c]).astype(np.int8)
                if member.tobytes() not in seen:
                    break
            else:
                raise ValueError(f"spread={spread} is too small for {members} distinct members in N={n_features}")
            seen.add(member.tobytes())
            patterns.append(member)
    return np.stack(patterns), np.repeat(np.arange(clusters), members)


def _check_positive(value: float, name: str) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


# -- the network ------------------------------------------------------------------------------------
@dataclass
class ModernHopfieldNetwork:
    """A spiking modern Hopfield memory and how to drive it (see the module docstring).

    Attributes
    ----------
    network
        The spec; its ``memory_drive`` input holds zeros (each sample's drive
        depends on its noise and is given per run).
    patterns
        ``(K, N)`` stored patterns in +-1.
    beta
        Inverse temperature :math:`\\beta` the drive is computed for.
    race_steps
        :math:`R`.
    cue, wipe, inhibition
        Cue current, memory wipe :math:`H` and lateral inhibition :math:`B`.
    """

    network: Network
    patterns: np.ndarray
    beta: float
    race_steps: int
    cue: float
    wipe: float
    inhibition: float
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def trial_steps(self) -> int:
        """Steps of one sample, :math:`R + 3`."""
        return self.race_steps + 3

    @property
    def window(self) -> tuple[int, int]:
        """``(first, stop)`` steps of a trial in which the output shows the sample."""
        return 2, self.race_steps + 2

    @property
    def resolution(self) -> float:
        r"""The race step :math:`\delta` at this :math:`\beta`."""
        return race_resolution(self.patterns.shape[1], self.beta, self.race_steps)

    def neurons(self) -> int:
        """Total number of neurons."""
        return sum(pop.size for pop in self.network.populations)

    def at_beta(self, beta: float) -> ModernHopfieldNetwork:
        """The same network (same spec: a compiled simulation runs it) sampling at another :math:`\\beta`."""
        _check_positive(beta, "beta")
        return replace(self, beta=float(beta), info={**self.info, "beta": float(beta)})

    def encode_cues(self, cues: np.ndarray) -> np.ndarray:
        """``(S, N)`` +-1 cues -> ``(S, 1, N)`` feature currents (the +1 entries fire at step 0)."""
        return (self.cue * (np.asarray(cues) > 0))[:, None, :].astype(np.float64)

    def memory_drive(self, noise: np.ndarray) -> np.ndarray:
        """``(S, trial_steps, K)`` memory currents of samples with Gumbel noise ``(S, K)``."""
        xi = self.patterns
        k_patterns, n = xi.shape
        race = self.race_steps
        thresholds = race_thresholds(noise, n, self.beta, race)  # (S, R, K)
        drive = np.zeros((len(thresholds), self.trial_steps, k_patterns))
        drive[:, 1] = UNIT_THRESHOLD - thresholds[:, 0] - xi.sum(axis=1)[None, :]
        drive[:, 2 : race + 1] = thresholds[:, :-1] - thresholds[:, 1:]
        drive[:, race + 1] = self.wipe
        drive[:, race + 2] = k_patterns * self.inhibition  # cancels the wipe's inhibition exactly
        return drive

    def decode(self, rasters: np.ndarray) -> np.ndarray:
        """Output rasters ``(trials, trial_steps, 2N)`` -> samples ``(trials, N)`` in {-1, 0, +1}."""
        first, stop = self.window
        fired = rasters[:, first:stop].any(axis=1)
        n = self.patterns.shape[1]
        return fired[:, :n].astype(np.int8) - fired[:, n:].astype(np.int8)


def build_modern_hopfield(
    patterns: np.ndarray,
    beta: float,
    race_steps: int = DEFAULT_RACE_STEPS,
    record_memory: bool = False,
    name: str = "modern-hopfield",
) -> ModernHopfieldNetwork:
    r"""Spiking modern Hopfield memory sampling :math:`\mathrm{softmax}(\beta X^\top\xi)` (module docstring).

    Parameters
    ----------
    patterns
        ``(K, N)`` stored patterns, entries +-1.
    beta
        Inverse temperature, > 0 (:meth:`ModernHopfieldNetwork.at_beta` changes it).
    race_steps
        Race length :math:`R \ge 3`: the race step is :math:`\delta = 2\beta N/(R-2)`
        and ties have probability :math:`\le 1 - e^{-\delta}`.
    record_memory
        Also record the memory layer's spikes (to read each sample's winner).
    """
    xi = np.asarray(patterns, dtype=np.float64)
    if xi.ndim != 2 or not np.isin(xi, (-1.0, 1.0)).all():
        raise ValueError("patterns must be a (K, N) array of +-1 entries")
    _check_positive(beta, "beta")
    if race_steps < 3:
        raise ValueError(f"race_steps must be >= 3, got {race_steps!r}")
    k_patterns, n = xi.shape
    race = int(race_steps)
    trial_steps = race + 3
    inhibition = float(2 * n + 4)
    # |v| <= K B + 2N + 3 before the wipe, which also receives up to -K B of lateral input
    wipe = float(np.ceil(2.0 * k_patterns * inhibition + 2 * n + 4 + UNIT_THRESHOLD + 1.0))
    cue = cue_current(0.0, UNIT_THRESHOLD)
    output_neuron = LIF(tau_mem=TAU_MEM, v_th=UNIT_THRESHOLD)
    wipe_o = wipe_current(k_patterns + trial_steps / (1.0 - output_neuron.beta(DT)), 0.0, UNIT_THRESHOLD)
    output_clock = periodic_current(trial_steps, 2 * n, {race + 2: wipe_o})
    monitors = [Monitor("output", "spikes"), Monitor("features", "count"), Monitor("memory", "count")]
    monitors.append(Monitor("output", "count"))
    if record_memory:
        monitors.append(Monitor("memory", "spikes"))
    network = Network(
        dt=DT,
        populations=[
            Population("features", n, LIF(tau_mem=TAU_MEM, v_th=UNIT_THRESHOLD)),
            Population("memory", k_patterns, LIF(tau_mem=math.inf, v_th=UNIT_THRESHOLD)),
            Population("output", 2 * n, output_neuron),
        ],
        projections=[
            Projection("features", "memory", 2.0 * xi, delay=1, name="features->memory"),
            Projection("memory", "memory", np.full((k_patterns, k_patterns), -inhibition), delay=1, name="lateral"),
            Projection("memory", "output", np.vstack([xi.T, -xi.T]), delay=1, name="memory->output"),
        ],
        inputs=[
            CurrentInput("cue", "features", np.zeros((1, n))),
            CurrentInput("memory_drive", "memory", np.zeros((1, k_patterns))),
            CurrentInput("output_clock", "output", output_clock),
        ],
        monitors=monitors,
        name=name,
    ).validate()
    return ModernHopfieldNetwork(
        network=network,
        patterns=xi,
        beta=float(beta),
        race_steps=race,
        cue=cue,
        wipe=wipe,
        inhibition=inhibition,
        info={"model": "modern Hopfield", "beta": float(beta), "race_steps": race, "trial_steps": trial_steps},
    )


# -- running samples ---------------------------------------------------------------------------------
@dataclass
class ModernRecall:
    """Samples of the spiking memory for a set of cues.

    Attributes
    ----------
    samples
        ``(B, T, N)`` the output population's sample (+-1; 0 where tied patterns disagree).
    noise
        ``(B, T, K)`` the Gumbel noise used.
    winners
        ``(B, T, K)`` bool, the memory units that fired first (``None`` unless recorded).
    spikes, synaptic_events, wall_time_s, steps, mode
        Cost figures (as :class:`~spikemem.memory.recall.RecallResult`).
    """

    samples: np.ndarray
    noise: np.ndarray
    winners: np.ndarray | None = None
    spikes: int = 0
    synaptic_events: int = 0
    wall_time_s: float = 0.0
    steps: int = 0
    mode: str = ""
    extra: dict = field(default_factory=dict)

    def mean(self, samples: int | None = None) -> np.ndarray:
        r"""The time average :math:`\bar x_T` of the first ``samples`` samples (all by default), ``(B, N)``."""
        return self.samples[:, :samples].astype(np.float64).mean(axis=1)


def _first_spikes(rasters: np.ndarray, race: int) -> np.ndarray:
    """Units firing at the first spiking step of the race (steps 1 .. R), ``(trials, K)``."""
    window = rasters[:, 1 : race + 1]  # (trials, R, K)
    any_step = window.any(axis=2)
    first = np.where(any_step.any(axis=1), any_step.argmax(axis=1), 0)
    return window[np.arange(len(window)), first]


def run_samples(
    sim: Simulation,
    net: ModernHopfieldNetwork,
    cues: np.ndarray,
    noise: np.ndarray,
    native_batch: bool = False,
    mode: Literal["auto", "batched", "multiplexed"] = "auto",
    progress: Progress | None = None,
) -> ModernRecall:
    """Run one race per (cue, sample) with the given noise ``(B, T, K)`` and decode the samples."""
    cues = np.asarray(cues)
    noise = np.asarray(noise, dtype=np.float64)
    b, t, k = noise.shape
    if len(cues) != b or k != len(net.patterns):
        raise ValueError(f"noise must be (cues, samples, K) = ({len(cues)}, T, {len(net.patterns)}), got {noise.shape}")
    if mode == "auto":
        mode = "batched" if native_batch else "multiplexed"
    multiplexed = mode == "multiplexed"
    flat_cues = np.repeat(cues, t, axis=0)
    flat_noise = noise.reshape(b * t, k)
    trials = len(flat_cues)
    length = net.trial_steps
    n = net.patterns.shape[1]
    per_trial = length * (3 * n + 3 * k)
    size = max(1, CHUNK_ELEMENTS // per_trial)
    if multiplexed:
        size = min(size, max(1, CHUNK_STEPS // length))
    parts = [(s, min(trials, s + size)) for s in range(0, trials, size)]
    iterator: Iterable[tuple[int, int]] | Iterator[tuple[int, int]] = parts
    if progress is not None:
        iterator = progress(parts, f"samples ({mode})", len(parts))
    recorded = any(m.key == "memory.spikes" for m in net.network.monitors)
    clock = np.asarray(net.network.input_of(CurrentInput, "output_clock").values)
    states, winners = [], []
    spikes = events = steps = 0
    wall = 0.0
    fans = fan_out(net.network)
    if multiplexed:
        sim.reset()
    for start, stop in iterator:
        count = stop - start
        cue = net.encode_cues(flat_cues[start:stop])
        drive = net.memory_drive(flat_noise[start:stop])
        if multiplexed:
            cue_rows = np.zeros((count, length, n))
            cue_rows[:, :1] = cue
            inputs = {
                "cue": cue_rows.reshape(count * length, n),
                "memory_drive": drive.reshape(count * length, k),
                "output_clock": np.tile(clock, (count, 1)),
            }
            recording = sim.run(count * length, inputs)
        else:
            recording = sim.run_batch(length, {"cue": cue, "memory_drive": drive})
        steps += count * length
        batched = not multiplexed
        states.append(net.decode(trial_rasters(recording, "output", length, count, batched)))
        if recorded:
            winners.append(_first_spikes(trial_rasters(recording, "memory", length, count, batched), net.race_steps))
        figures = cost(net.network, counts_from_recording(recording, ("features", "memory", "output")), fans)
        spikes += figures["spikes"]
        events += figures["synaptic_events"]
        wall += recording.wall_time_s
    return ModernRecall(
        samples=np.concatenate(states).reshape(b, t, n),
        noise=noise,
        winners=np.concatenate(winners).reshape(b, t, k) if recorded else None,
        spikes=spikes,
        synaptic_events=events,
        wall_time_s=wall,
        steps=steps,
        mode=mode,
    )


def sample_on(
    backend: Backend,
    net: ModernHopfieldNetwork,
    cues: np.ndarray,
    samples: int,
    rng: np.random.Generator,
    numeric: str = "float",
    mode: Literal["auto", "batched", "multiplexed"] = "auto",
    progress: Progress | None = None,
) -> ModernRecall:
    """Draw the noise from ``rng`` (``(B, samples, K)`` Gumbel), compile ``net`` on ``backend`` and run."""
    noise = gumbel_noise(rng, (len(cues), samples, len(net.patterns)))
    start = time.perf_counter()
    with backend.compile(net.network, numeric=numeric) as sim:
        compiled = time.perf_counter()
        result = run_samples(
            sim, net, cues, noise, native_batch=backend.capabilities.native_batch, mode=mode, progress=progress
        )
    result.extra["compile_s"] = compiled - start
    result.extra["total_s"] = time.perf_counter() - start
    return result
