"""Running recall trials of a :class:`~spikemem.memory.encoding.RecallNetwork` on any backend.

Two ways, with identical answers (a property of the clocked encoding, tested):

- **batched**: ``Simulation.run_batch`` with one cue per trial, for backends
  with native batching (reference, snnTorch: every trial runs in parallel);
  each trial stops at its last read step;
- **multiplexed**: trials follow each other in one long ``Simulation.run``
  (the clock currents tiled, each trial's cue at its first step), for
  backends that would otherwise run trial after trial with a reset and a
  start-up cost each (Brian2, Lava).

Trials are run in chunks that bound the memory of inputs and records. The
cost figures of the two ways differ only by the trial tail (the wipes that
separate multiplexed trials).
Nothing here computes a recall itself: the states come from the recorded
spikes, decoded by :mod:`spikemem.evaluation.memory`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal, TypeVar

import numpy as np

from spikemem.backend import Backend, Simulation
from spikemem.cost import OperationCounts, join_trials
from spikemem.evaluation.memory import cost, counts_from_recording, decode_states
from spikemem.memory.encoding import RecallNetwork

T = TypeVar("T")
Progress = Callable[[Iterable[T], str, int], Iterator[T]]

CHUNK_ELEMENTS = 20_000_000
"""Budget of input + record elements per run call (about 160 MB of float64)."""

CHUNK_STEPS = 5_000
"""Most steps per multiplexed run call (keeps each call well inside a backend's time limit)."""


@dataclass
class RecallResult:
    """What a set of recall trials produced.

    Attributes
    ----------
    states
        ``(trials, reads, N)`` states in :math:`\\pm 1` at each read step of
        the readout (the last is the final state).
    spikes, synaptic_events
        Total cost of all trials (wipe spikes included).
    wall_time_s
        Simulation time reported by the backend (runs only, no compile).
    cpu_time_s
        CPU time of this process over the run calls (with the decoding of the
        recorded spikes; Lava's worker processes are not included).
    steps
        Simulated steps (summed over batch rows for batched runs).
    mode
        ``"batched"`` or ``"multiplexed"``.
    """

    states: np.ndarray
    spikes: int = 0
    synaptic_events: int = 0
    wall_time_s: float = 0.0
    cpu_time_s: float = 0.0
    steps: int = 0
    mode: str = ""
    extra: dict = field(default_factory=dict)
    counts: OperationCounts | None = None
    """The operations of every run (:class:`spikemem.cost.OperationCounts`), None when counting is off."""

    @property
    def final(self) -> np.ndarray:
        """Final states ``(trials, N)``."""
        return self.states[:, -1]


def _chunks(total: int, size: int) -> list[tuple[int, int]]:
    return [(start, min(total, start + size)) for start in range(0, total, size)]


def chunk_trials(net: RecallNetwork, multiplexed: bool, budget: int = CHUNK_ELEMENTS) -> int:
    """Trials per run call so that inputs and records stay within ``budget`` elements.

    Both ways materialise every trial's clock currents (a batched run builds
    one input window per trial), plus the recorded spikes of the readout.
    """
    readouts = set(net.readout.populations())
    per_trial = net.trial_steps * sum(net.network.population(name).size for name in readouts)
    per_trial += sum(v.size for v in net.clock_values().values())
    trials = budget // max(per_trial, 1)
    if multiplexed:
        trials = min(trials, CHUNK_STEPS // net.trial_steps)
    return max(1, trials)


def run_recall(
    sim: Simulation,
    net: RecallNetwork,
    cues: np.ndarray,
    mode: Literal["auto", "batched", "multiplexed"] = "auto",
    native_batch: bool = False,
    chunk: int | None = None,
    progress: Progress | None = None,
) -> RecallResult:
    """Run one recall trial per cue and decode the states from the recorded spikes.

    Parameters
    ----------
    sim
        A simulation compiled from ``net.network``.
    cues
        ``(B, N)`` initial states in :math:`\\pm 1` (or the model's cue format).
    mode
        ``"auto"``: batched when ``native_batch``, else multiplexed.
    native_batch
        Whether the backend runs ``run_batch`` in parallel.
    chunk
        Trials per run call (default: from :data:`CHUNK_ELEMENTS`).
    progress
        Optional ``progress(iterable, description, total)`` wrapper (tqdm).
    """
    cues = np.asarray(cues)
    if mode == "auto":
        mode = "batched" if native_batch else "multiplexed"
    multiplexed = mode == "multiplexed"
    size = chunk or chunk_trials(net, multiplexed)
    parts = _chunks(len(cues), size)
    iterator: Iterable[tuple[int, int]] = parts
    if progress is not None:
        iterator = progress(parts, f"recall ({mode})", len(parts))
    states, total_spikes, total_events, wall, cpu, steps = [], 0, 0, 0.0, 0.0, 0
    run_counts: OperationCounts | None = None
    length = net.trial_steps
    answered = max(net.readout.steps) + 1  # a batched trial stops at its last read (the tail only separates trials)
    clocks = net.clock_values()
    if multiplexed:
        sim.reset()
    for start, stop in iterator:
        trials = stop - start
        encoded = net.encode_cue(cues[start:stop])
        cpu_start = time.process_time()
        if multiplexed:
            rows = encoded.shape[1]
            cue = np.zeros((trials * length, encoded.shape[2]))
            for b in range(trials):
                cue[b * length : b * length + rows] = encoded[b]
            overrides = {net.cue_input: cue, **{name: np.tile(v, (trials, 1)) for name, v in clocks.items()}}
            recording = sim.run(trials * length, overrides)
            steps += trials * length
        else:
            recording = sim.run_batch(answered, {net.cue_input: encoded})
            steps += trials * answered
        states.append(decode_states(recording, net.readout, trials, batched=not multiplexed))
        cpu += time.process_time() - cpu_start
        figures = cost(net.network, counts_from_recording(recording, net.sources), net.fan_out())
        total_spikes += figures["spikes"]
        total_events += figures["synaptic_events"]
        wall += recording.wall_time_s
        if recording.cost is not None:
            run_counts = recording.cost if run_counts is None else _joined(run_counts, recording.cost, multiplexed)
    return RecallResult(
        states=np.concatenate(states),
        spikes=total_spikes,
        synaptic_events=total_events,
        wall_time_s=wall,
        cpu_time_s=cpu,
        steps=steps,
        mode=mode,
        counts=run_counts,
    )


def _joined(a: OperationCounts, b: OperationCounts, consecutive: bool) -> OperationCounts:
    """Counts of two chunks of recalls: runs one after the other, or batches of trials of one length."""
    return a + b if consecutive else join_trials(a, b)


def recall_on(
    backend: Backend,
    net: RecallNetwork,
    cues: np.ndarray,
    mode: Literal["auto", "batched", "multiplexed"] = "auto",
    numeric: str = "float",
    chunk: int | None = None,
    progress: Progress | None = None,
) -> RecallResult:
    """Compile ``net`` on ``backend``, run the cues, close the simulation."""
    start = time.perf_counter()
    with backend.compile(net.network, numeric=numeric) as sim:
        compiled = time.perf_counter()
        result = run_recall(
            sim, net, cues, mode=mode, native_batch=backend.capabilities.native_batch, chunk=chunk, progress=progress
        )
    result.extra["compile_s"] = compiled - start
    result.extra["total_s"] = time.perf_counter() - start
    return result
