r"""Associative-memory metrics, computed from recordings only and identical for every backend.

A recall network (built by :mod:`spikemem.memory`) says where its answer
lies in a recording with a :class:`Readout`: which population, at which
steps of a trial, and how spikes map to :math:`\pm 1` states (a spike is
:math:`+1`, silence :math:`-1`). Everything here reads
:class:`~spikemem.recording.Recording` arrays and the static
:class:`~spikemem.spec.Network` (for fan-outs); nothing calls a simulator.

Metrics, for a state :math:`\sigma \in \{-1, +1\}^N` and a stored pattern
:math:`\xi` (entries :math:`\pm 1`, or 0 for diluted patterns):

.. math::

    m = \frac{1}{N} \sum_i \xi_i \sigma_i \qquad \text{(overlap)}

and a recall is *exact* when :math:`\sigma = \xi` (:math:`m = 1`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from spikemem.recording import Recording
from spikemem.spec import Network


@dataclass(frozen=True)
class Readout:
    """Where a recall network's answer lies in a recording.

    A trial occupies ``trial_steps`` consecutive steps; trial ``b`` of a
    time-multiplexed run starts at step ``b * trial_steps`` (a batched run
    has one trial per batch row, starting at step 0).

    Attributes
    ----------
    population
        Population whose spikes encode the state, or one population per
        entry of ``steps`` (networks whose state alternates between two
        populations).
    steps
        Steps within a trial at which the state is read, in order
        (``mode="step"``): the last one is the final state; earlier ones
        give the trajectory (one entry per network update).
    trial_steps
        Length of one trial in steps.
    mode
        ``"step"``: the state at ``steps[k]`` is the spike vector of that
        step. ``"window"``: one state, :math:`+1` where the neuron spiked at
        least once in ``steps`` (used by the winner-take-all memory, whose
        output neurons fire only for the winner's +1 entries).
    """

    population: str | tuple[str, ...]
    steps: tuple[int, ...]
    trial_steps: int
    mode: Literal["step", "window"] = "step"

    def populations(self) -> tuple[str, ...]:
        """The population read at each entry of ``steps``."""
        if isinstance(self.population, str):
            return (self.population,) * len(self.steps)
        if len(self.population) != len(self.steps):
            raise ValueError("one population per read step is needed")
        return tuple(self.population)


def trial_rasters(recording: Recording, population: str, trial_steps: int, trials: int, batched: bool) -> np.ndarray:
    """Spike rasters of one population per trial, ``(trials, trial_steps, N)`` bool.

    ``batched``: the recording came from ``run_batch`` (leading trial axis);
    otherwise it is one time-multiplexed run of ``trials`` trials.
    """
    spikes = np.asarray(recording.spikes(population), dtype=bool)
    if batched:
        if spikes.shape[0] != trials:
            raise ValueError(f"expected {trials} batched trials, got {spikes.shape[0]}")
        return spikes[:, :trial_steps]  # a batched trial may stop before the trial's tail
    need = trials * trial_steps
    if spikes.shape[0] < need:
        raise ValueError(f"recording has {spikes.shape[0]} steps; {trials} trials need {need}")
    return spikes[:need].reshape(trials, trial_steps, -1)


def decode_states(recording: Recording, readout: Readout, trials: int, batched: bool) -> np.ndarray:
    r"""States :math:`\pm 1` of every trial: ``(trials, len(steps), N)`` for ``"step"``, else ``(trials, 1, N)``."""
    names = readout.populations()
    rasters = {
        name: trial_rasters(recording, name, readout.trial_steps, trials, batched) for name in dict.fromkeys(names)
    }
    if readout.mode == "window":
        picked = np.stack([rasters[names[0]][:, list(readout.steps)].any(axis=1)], axis=1)
    else:
        picked = np.stack([rasters[name][:, step] for name, step in zip(names, readout.steps, strict=True)], axis=1)
    return np.where(picked, 1, -1).astype(np.int8)


def overlaps(states: np.ndarray, patterns: np.ndarray) -> np.ndarray:
    r"""Overlap :math:`m = \xi\cdot\sigma / N` of each state with each pattern.

    ``states`` ``(..., N)`` and ``patterns`` ``(P, N)`` give ``(..., P)``.
    """
    states = np.asarray(states, dtype=np.float64)
    patterns = np.asarray(patterns, dtype=np.float64)
    return states @ patterns.T / patterns.shape[-1]


def target_overlaps(states: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Overlap of each state ``(B, ..., N)`` with its own target pattern ``(B, N)``: ``(B, ...)``."""
    states = np.asarray(states, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    expand = targets.reshape(targets.shape[0], *([1] * (states.ndim - 2)), targets.shape[-1])
    return (states * expand).sum(axis=-1) / targets.shape[-1]


def recall_summary(final_overlaps: np.ndarray) -> dict[str, float]:
    """``overlap_mean``, ``overlap_min`` and ``exact_recall_fraction`` of final overlaps ``(B,)``."""
    m = np.asarray(final_overlaps, dtype=np.float64)
    return {
        "overlap_mean": float(m.mean()),
        "overlap_min": float(m.min()),
        "exact_recall_fraction": float(np.mean(np.isclose(m, 1.0))),
        "trials": int(m.size),
    }


def weight_correlation(learned: np.ndarray, reference: np.ndarray, off_diagonal: bool = True) -> float:
    """Pearson correlation of two weight matrices (off-diagonal entries by default)."""
    a = np.asarray(learned, dtype=np.float64)
    b = np.asarray(reference, dtype=np.float64)
    keep = ~np.eye(a.shape[0], a.shape[1], dtype=bool) if off_diagonal else np.ones(a.shape, dtype=bool)
    return float(np.corrcoef(a[keep], b[keep])[0, 1])


# -- cost ------------------------------------------------------------------------------
def fan_out(network: Network) -> dict[str, np.ndarray]:
    """Per source (population or spike input): synapses each neuron drives, summed over projections."""
    out: dict[str, np.ndarray] = {}
    for proj in network.projections:
        w = np.asarray(proj.weights)
        present = w != 0 if proj.mask is None else (np.asarray(proj.mask, dtype=bool) | (w != 0))
        per_pre = present.sum(axis=0)
        out[proj.pre] = out.get(proj.pre, 0) + per_pre
    return out


def cost(
    network: Network, counts: Mapping[str, np.ndarray], fans: Mapping[str, np.ndarray] | None = None
) -> dict[str, int]:
    r"""Spike count and synaptic events from spike counts per source.

    ``counts[name]``: spikes per neuron (any leading axes are summed).
    Synaptic events :math:`= \sum_{sources} \sum_j c_j\, k_j` with
    :math:`k_j` the number of synapses neuron ``j`` drives (``fans``, from
    :func:`fan_out`, when already computed).
    """
    fans = fan_out(network) if fans is None else fans
    spikes = 0
    events = 0
    for name, value in counts.items():
        c = np.asarray(value, dtype=np.int64)
        per_neuron = c.reshape(-1, c.shape[-1]).sum(axis=0)
        spikes += int(per_neuron.sum())
        if name in fans:
            events += int(per_neuron @ fans[name])
    return {"spikes": spikes, "synaptic_events": events}


def counts_from_recording(recording: Recording, sources: Sequence[str]) -> dict[str, np.ndarray]:
    """Spike counts per neuron of each source (from ``count`` or ``spikes`` monitors)."""
    return {name: np.asarray(recording.count(name)) for name in sources}


# -- plots -----------------------------------------------------------------------------
def pyplot() -> Any:
    """matplotlib.pyplot with the Agg backend (files only, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> Path:
    """Lay out, write (PNG, 120 dpi) and close a figure; return its path."""
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    pyplot().close(fig)
    return Path(path)


def plot_capacity_curve(
    points: Sequence[Mapping[str, Any]],
    path: str | Path,
    theory: tuple[np.ndarray, np.ndarray] | None = None,
    title: str = "Capacity curve",
    x_key: str = "alpha",
    x_label: str = r"load $\alpha = P/N$",
    critical: float | None = None,
) -> Path:
    """Mean (and min) final overlap against load, with the theory curve drawn over it."""
    plt = pyplot()
    x = np.array([p[x_key] for p in points], dtype=float)
    mean = np.array([p["overlap_mean"] for p in points], dtype=float)
    low = np.array([p["overlap_min"] for p in points], dtype=float)
    fig, ax = plt.subplots(figsize=(6, 4))
    if theory is not None:
        ax.plot(theory[0], theory[1], color="black", lw=1.5, label="theory")
    ax.plot(x, mean, "o-", color="tab:blue", label="measured mean overlap")
    ax.plot(x, low, "v", color="tab:blue", alpha=0.5, label="measured min overlap")
    if critical is not None:
        ax.axvline(critical, color="gray", ls="--", lw=1, label=rf"$\alpha_c = {critical}$")
    ax.set_xlabel(x_label)
    ax.set_ylabel("final overlap $m$")
    ax.set_ylim(min(-0.05, float(low.min()) - 0.05), 1.05)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_basin(initial: np.ndarray, final: np.ndarray, path: str | Path, title: str = "Basin of attraction") -> Path:
    """Final against initial overlap, one dot per trial, with the mean per initial overlap."""
    plt = pyplot()
    initial = np.asarray(initial, dtype=float)
    final = np.asarray(final, dtype=float)
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.plot([-1, 1], [-1, 1], color="gray", lw=0.8, ls=":")
    ax.scatter(initial, final, s=6, alpha=0.3, color="tab:blue")
    levels = np.unique(np.round(initial, 6))
    means = [final[np.isclose(initial, v)].mean() for v in levels]
    ax.plot(levels, means, "o-", color="black", label="mean")
    ax.set_xlabel("initial overlap $m_0$")
    ax.set_ylabel("final overlap $m$")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_bars(
    labels: Sequence[str],
    values: Sequence[float],
    path: str | Path,
    ylabel: str,
    title: str,
    reference: Sequence[float] | None = None,
) -> Path:
    """Bar chart of one metric per model/point, with optional theory markers."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(labels)), 4))
    x = np.arange(len(labels))
    ax.bar(x, values, color="tab:blue", label="measured")
    if reference is not None:
        ax.plot(x, reference, "_", color="black", markersize=30, mew=2, label="theory")
    ax.set_xticks(x, labels, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_lines(
    x: np.ndarray,
    series: Mapping[str, np.ndarray],
    path: str | Path,
    xlabel: str,
    ylabel: str,
    title: str,
    theory: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> Path:
    """Measured series (markers) against theory lines on one axis."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for (label, y), color in zip(series.items(), plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False):
        ax.plot(x, y, "o", color=color, label=f"{label} (measured)")
        if theory and label in theory:
            tx, ty = theory[label]
            ax.plot(tx, ty, "-", color=color, lw=1.2, label=f"{label} (theory)")
    if theory:
        for label, (tx, ty) in theory.items():
            if label not in series:
                ax.plot(tx, ty, "-", color="black", lw=1.2, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(fig, path)
