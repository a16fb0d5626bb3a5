r"""Classical Hopfield memory as a clocked spiking network (synchronous or asynchronous).

Given symmetric couplings :math:`C` (integer units, see
:mod:`spikemem.memory.patterns`), the network runs zero-temperature dynamics

.. math::

    \sigma_i \leftarrow \operatorname{sign}(h_i), \qquad h_i = \sum_j C_{ij} \sigma_j

with every neuron at once (``mode="sync"``), or on random blocks of a
permutation per sweep (``mode="async"``: ``blocks`` blocks per sweep, one
block per update; with ``blocks = N`` this is random sequential updating).

With spikes :math:`x = (1+\sigma)/2`,
:math:`h_i = \sum_j 2C_{ij} x_j - R_i` with :math:`R_i = \sum_j C_{ij}`:
the coupling projections have weights :math:`W = 2C` and the reading
neurons get the bias current :math:`-R_i`. A reading neuron was wiped the
step before (:mod:`spikemem.memory.encoding`), so :math:`v_i = h_i` and it
spikes iff :math:`h_i > 1/4`. Fields are multiples of ``resolution`` (1 for
integer couplings; with the default self-coupling 1/2 every field is a
half-integer and ties never occur), so the threshold decides exactly
:math:`h_i > 0`.

**Synchronous** (one step per update): two populations ``state_even`` and
``state_odd`` of N neurons hold the state in turn. ``state_even`` reads at
even steps and is wiped at odd steps, ``state_odd`` the other way round;
projections even -> odd and odd -> even both carry :math:`W` (delay 1), so
the read spikes of one population are the input of the other's next read
and the wipe spikes of one arrive at the other's wipe. Update :math:`k` is
the spike vector of step :math:`k` (``state_odd`` for odd :math:`k`).

**Relay structure** (two steps per update; always used for asynchronous
dynamics, optional for synchronous ones): ``state`` (N) is wiped at even
steps and reads at odd ones; ``relay`` (N) copies it one step later
(weight 1, threshold 1/2) and feeds back :math:`W` (delay 1). The relay is
never wiped within a trial: the state's wipe spike reaching it is cancelled
exactly by a current -1, so its potential is exactly 0 between spikes and
only state spikes cross :math:`W` (it is forced once, at step 0, so that a
trial starts alike after a reset or after another trial). Asynchronous
dynamics add a ``latch`` (N, wiped at odd steps) that fires iff
:math:`x_i = 1` *and* neuron :math:`i` is held at the next read (weight 1
from ``state``, current 0 when held, -1 when it updates, threshold 1/2). The
latch feeds back :math:`K = 2M` one-to-one, and held neurons get :math:`-M`
at the read with :math:`M > \max|h|`: a held neuron reads :math:`\pm M + h_i`
and repeats its state, an updating one reads :math:`h_i`. Step 0 wipes, the
cue is step 1 and update :math:`k` is the spike vector of step :math:`2k + 1`.

In both structures a trial starts with the cue, a current
:math:`\pm(S + v_{th} + 1)` (:math:`S` the largest synaptic input) into a
population wiped the step before, and ends with wipes, so trials can follow
each other in one run (:mod:`spikemem.memory.recall`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

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
from spikemem.spec import LIF, CurrentInput, Input, Monitor, Network, Population, Projection

READ_THRESHOLD = 0.25
COPY_THRESHOLD = 0.5
STRUCTURES = ("alternating", "relay")


@dataclass(frozen=True)
class Dynamics:
    """Update schedule of a Hopfield recall.

    Attributes
    ----------
    mode
        ``"sync"``: every neuron at every update; ``"async"``: random blocks.
    updates
        Synchronous: number of parallel updates. Asynchronous: sweeps
        (each neuron updated once per sweep, in a fresh random order).
    blocks
        Asynchronous only: blocks per sweep (one block per update step).
    """

    mode: Literal["sync", "async"] = "sync"
    updates: int = 20
    blocks: int = 10

    def __post_init__(self) -> None:
        if self.mode not in ("sync", "async"):
            raise ValueError(f"dynamics mode must be 'sync' or 'async', got {self.mode!r}")
        if self.updates < 1 or self.blocks < 1:
            raise ValueError("updates and blocks must be >= 1")

    @property
    def cycles(self) -> int:
        """Network updates (reads) per trial after the cue."""
        return self.updates if self.mode == "sync" else self.updates * self.blocks


def update_schedule(dynamics: Dynamics, size: int, rng: np.random.Generator | None) -> np.ndarray:
    """``(cycles, size)`` bool: which neurons update at each read (all of them when synchronous)."""
    if dynamics.mode == "sync":
        return np.ones((dynamics.cycles, size), dtype=bool)
    if rng is None:
        raise ValueError("asynchronous dynamics need a random generator for the update order")
    schedule = np.zeros((dynamics.cycles, size), dtype=bool)
    for sweep in range(dynamics.updates):
        for b, block in enumerate(np.array_split(rng.permutation(size), dynamics.blocks)):
            schedule[sweep * dynamics.blocks + b, block] = True
    return schedule


def _prepare(couplings: np.ndarray, resolution: float) -> tuple[np.ndarray, np.ndarray, float]:
    """``(W = 2C/resolution, row sums of C/resolution, max_i sum_j |C_ij|/resolution)``, one matrix copy."""
    couplings = np.asarray(couplings)
    if couplings.ndim != 2 or couplings.shape[0] != couplings.shape[1]:
        raise ValueError(f"couplings must be square, got shape {couplings.shape}")
    weights = np.multiply(couplings, 2.0 / resolution, dtype=np.float64)
    return weights, weights.sum(axis=1) / 2.0, max_input(weights) / 2.0


def build_hopfield(
    couplings: np.ndarray,
    dynamics: Dynamics = Dynamics(),
    rng: np.random.Generator | None = None,
    resolution: float = 1.0,
    name: str = "hopfield",
    structure: str = "alternating",
) -> RecallNetwork:
    """The spiking Hopfield recall network for ``couplings`` (see the module docstring).

    Parameters
    ----------
    couplings
        Symmetric ``(N, N)`` couplings; fields are multiples of ``resolution``.
    dynamics
        Update schedule.
    rng
        Generator of the asynchronous update order.
    resolution
        Field quantum: couplings are divided by it, so that the threshold
        1/4 lies well inside one quantum.
    structure
        Synchronous dynamics only: ``"alternating"`` (two state populations,
        one step per update: the least arithmetic for backends that multiply
        dense matrices every step) or ``"relay"`` (state + relay, two steps per
        update: wipe spikes cross one-to-one synapses only, about three times
        fewer synaptic events for event-driven backends such as Brian2).
        Asynchronous dynamics always use the relay structure (with a latch).
    """
    if structure not in STRUCTURES:
        raise ValueError(f"structure must be one of {STRUCTURES}, got {structure!r}")
    if dynamics.mode == "sync" and structure == "alternating":
        return _alternating(couplings, dynamics, resolution, name)
    return _relayed(couplings, dynamics, update_schedule(dynamics, len(couplings), rng), resolution, name)


def _cue_encoder(magnitude: float) -> Callable[[np.ndarray], np.ndarray]:
    def encode(cues: np.ndarray) -> np.ndarray:
        return (magnitude * np.where(np.asarray(cues) > 0, 1.0, -1.0))[:, None, :]

    return encode


def _alternating(couplings: np.ndarray, dynamics: Dynamics, resolution: float, name: str) -> RecallNetwork:
    weights, row_sums, _ = _prepare(couplings, resolution)
    n = len(row_sums)
    updates = dynamics.updates
    trial_steps = updates + 2 + updates % 2
    synaptic = max_input(weights)
    cue = cue_current(synaptic, READ_THRESHOLD)
    big = wipe_current(synaptic, max(float(np.abs(row_sums).max()), cue), READ_THRESHOLD)
    tail = {t: big for t in range(updates + 1, trial_steps)}
    clocks = {}
    for parity, label in ((0, "state_even"), (1, "state_odd")):
        reads = {t: -row_sums for t in range(1, updates + 1) if t % 2 == parity}
        wipes = {t: big for t in range(trial_steps) if t % 2 != parity}
        clocks[label] = periodic_current(trial_steps, n, {**wipes, **reads, **tail})
    neuron = LIF(tau_mem=TAU_MEM, v_th=READ_THRESHOLD)
    network = Network(
        dt=DT,
        populations=[Population("state_even", n, neuron), Population("state_odd", n, neuron)],
        projections=[
            Projection("state_even", "state_odd", weights, delay=1, name="even->odd"),
            Projection("state_odd", "state_even", weights, delay=1, name="odd->even"),
        ],
        inputs=[
            CurrentInput("even_clock", "state_even", clocks["state_even"]),
            CurrentInput("odd_clock", "state_odd", clocks["state_odd"]),
            CurrentInput("cue", "state_even", np.zeros((1, n))),
        ],
        monitors=[
            Monitor("state_even", "spikes"),
            Monitor("state_odd", "spikes"),
            Monitor("state_even", "count"),
            Monitor("state_odd", "count"),
        ],
        name=name,
    ).validate()
    steps = tuple(range(updates + 1))
    return RecallNetwork(
        network=network,
        readout=Readout(tuple("state_odd" if t % 2 else "state_even" for t in steps), steps, trial_steps),
        cue_input="cue",
        encode_cue=_cue_encoder(cue),
        clocks=("even_clock", "odd_clock"),
        sources=("state_even", "state_odd"),
        info={"model": "hopfield", "mode": "sync", "updates": updates, "trial_steps": trial_steps, "neurons": 2 * n},
    )


def _relayed(
    couplings: np.ndarray, dynamics: Dynamics, schedule: np.ndarray, resolution: float, name: str
) -> RecallNetwork:
    weights, row_sums, field_bound = _prepare(couplings, resolution)
    n = len(row_sums)
    cycles = dynamics.cycles
    trial_steps = 2 * cycles + 2
    reads = [2 * k + 1 for k in range(cycles + 1)]  # the cue, then update k at step 2k + 1
    latched = not schedule.all()
    hold = float(np.ceil(field_bound + 1.0)) if latched else 0.0
    eye = np.eye(n)
    synaptic = max_input(weights) + 2.0 * hold
    cue = cue_current(synaptic, READ_THRESHOLD)
    big = wipe_current(synaptic, max(float(np.abs(row_sums).max()) + hold, cue), READ_THRESHOLD)
    state_clock = periodic_current(
        trial_steps,
        n,
        {
            **{t: big for t in range(0, trial_steps, 2)},
            **{t: -row_sums - hold * ~schedule[k] for k, t in enumerate(reads[1:])},
        },
    )
    copy_wipe = wipe_current(1.0, 1.0, COPY_THRESHOLD)
    # The relay copies the state's reads (weight 1) at even steps. The state's wipe spike reaching it
    # at odd steps is cancelled exactly by -1, so its potential stays exactly 0 between spikes and it
    # needs no wipe (only state spikes cross W); it is forced once per trial, at step 0, so that a
    # trial starts from the same relay state whether it follows another trial or a reset.
    relay_clock = periodic_current(trial_steps, n, {0: copy_wipe, **{t: -1.0 for t in range(1, trial_steps, 2)}})
    copy = LIF(tau_mem=TAU_MEM, v_th=COPY_THRESHOLD)
    populations = [Population("state", n, LIF(tau_mem=TAU_MEM, v_th=READ_THRESHOLD)), Population("relay", n, copy)]
    projections = [
        Projection("state", "relay", eye.copy(), delay=1, name="state->relay"),
        Projection("relay", "state", weights, delay=1, name="recurrent"),
    ]
    inputs: list[Input] = [
        CurrentInput("state_clock", "state", state_clock),
        CurrentInput("relay_clock", "relay", relay_clock),
        CurrentInput("cue", "state", np.zeros((2, n))),
    ]
    clocks = ["state_clock", "relay_clock"]
    monitors = [Monitor("state", "spikes"), Monitor("state", "count"), Monitor("relay", "count")]
    if latched:
        # the latch read at step 2k prepares the state read at 2k + 1 (update k); wiped at odd steps
        latch_clock = periodic_current(
            trial_steps,
            n,
            {
                0: copy_wipe,
                **{t: copy_wipe for t in range(1, trial_steps, 2)},
                **{2 * k: np.where(schedule[k - 1], -1.0, 0.0) for k in range(1, cycles + 1)},
            },
        )
        populations.append(Population("latch", n, copy))
        projections += [
            Projection("state", "latch", eye.copy(), delay=1, name="state->latch"),
            Projection("latch", "state", 2.0 * hold * eye, delay=1, name="latch->state"),
        ]
        inputs.insert(2, CurrentInput("latch_clock", "latch", latch_clock))
        clocks.append("latch_clock")
        monitors.append(Monitor("latch", "count"))
    network = Network(
        dt=DT, populations=populations, projections=projections, inputs=inputs, monitors=monitors, name=name
    ).validate()

    def encode(cues: np.ndarray) -> np.ndarray:
        out = np.zeros((len(cues), 2, n))
        out[:, 1] = cue * np.where(np.asarray(cues) > 0, 1.0, -1.0)
        return out

    return RecallNetwork(
        network=network,
        readout=Readout("state", tuple(reads), trial_steps),
        cue_input="cue",
        encode_cue=encode,
        clocks=tuple(clocks),
        sources=tuple(p.name for p in populations),
        info={
            "model": "hopfield",
            "mode": dynamics.mode,
            "structure": "relay",
            "updates": dynamics.updates,
            "blocks": dynamics.blocks if dynamics.mode == "async" else 1,
            "trial_steps": trial_steps,
            "neurons": len(populations) * n,
            "hold_current": hold,
        },
    )
