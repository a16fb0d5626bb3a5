"""Materialises a network's inputs for a window of steps, the same way for every backend.

Backends never interpret :mod:`spikemem.spec.inputs` themselves: they call
:func:`input_window` and feed the resulting arrays to their simulator, so
that a seeded Poisson input or a time-varying current is identical everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from spikemem.spec import CurrentInput, ModulatorInput, Network, PoissonInput, SpecError, SpikeInput
from spikemem.spec.inputs import Input


@dataclass
class InputWindow:
    """Inputs of the steps ``t_start .. t_start + steps - 1``.

    Attributes
    ----------
    spikes
        Spike source name -> bool ``(steps, size)``.
    currents
        Population name -> float ``(steps, size)``: the sum of every
        :class:`~spikemem.spec.CurrentInput` on it (only populations with at
        least one current input appear).
    modulators
        Modulator name -> float ``(steps, n)`` with ``n = 1`` for a global signal.
    """

    t_start: int
    steps: int
    spikes: dict[str, np.ndarray] = field(default_factory=dict)
    currents: dict[str, np.ndarray] = field(default_factory=dict)
    modulators: dict[str, np.ndarray] = field(default_factory=dict)


def poisson_spikes(inp: PoissonInput, dt: float, t_start: int, steps: int) -> np.ndarray:
    r"""Spikes of a :class:`~spikemem.spec.PoissonInput` for steps ``t_start ..``.

    Channel ``j`` spikes at step ``t`` when ``u < rate_j * dt`` with ``u`` the
    ``t``-th draw of ``numpy.random.default_rng([seed, t])``: a pure function
    of (seed, t), independent of how a simulation is split into runs.
    """
    prob = np.broadcast_to(np.asarray(inp.rate_hz, dtype=float) * dt, (inp.size,))
    out = np.empty((steps, inp.size), dtype=bool)
    for k in range(steps):
        out[k] = np.random.default_rng([inp.seed, t_start + k]).random(inp.size) < prob
    return out


def _slice_time(values: np.ndarray, offset: int, steps: int, fill_shape: tuple[int, ...]) -> np.ndarray:
    """Rows ``offset .. offset+steps`` of ``values``, zero-padded past its end."""
    out = np.zeros((steps, *fill_shape), dtype=values.dtype)
    available = values[offset : offset + steps] if offset < len(values) else values[:0]
    out[: len(available)] = available
    return out


def _checked_override(inp: Input, value: np.ndarray, network: Network) -> Input:
    """A copy of ``inp`` carrying ``value`` as its data, checked like the spec."""
    from spikemem.spec.validation import validate

    replaced: Input
    if isinstance(inp, SpikeInput):
        spikes = SpikeInput(inp.name, np.asarray(value))
        if spikes.size != inp.size:
            raise SpecError(f"run.inputs[{inp.name!r}]", f"has {spikes.size} channels; the input has {inp.size}")
        replaced = spikes
    elif isinstance(inp, CurrentInput):
        replaced = CurrentInput(inp.name, inp.target, np.asarray(value, dtype=float))
    elif isinstance(inp, ModulatorInput):
        replaced = ModulatorInput(inp.name, np.asarray(value, dtype=float))
    elif isinstance(inp, PoissonInput):
        replaced = PoissonInput(inp.name, inp.size, value, inp.seed)
    else:  # pragma: no cover - validated network has only these
        raise SpecError(f"run.inputs[{inp.name!r}]", "cannot be replaced")
    # one population is enough to check the input: its target, or any (a network needs one)
    target = network.population(replaced.target) if isinstance(replaced, CurrentInput) else network.populations[0]
    probe = Network(dt=network.dt, populations=[target], inputs=[replaced])
    try:
        validate(probe)
    except SpecError as exc:
        raise SpecError(f"run.inputs[{inp.name!r}]", exc.problem) from None
    return replaced


def input_window(
    network: Network, t_start: int, steps: int, overrides: Mapping[str, np.ndarray] | None = None
) -> InputWindow:
    """Materialise every input of ``network`` for ``steps`` steps from ``t_start``.

    Parameters
    ----------
    network
        A validated network.
    t_start
        Step index (since reset) of the first step of the window.
    steps
        Window length.
    overrides
        Input name -> replacement data for this window, indexed from the
        window's first step (a ``PoissonInput`` takes replacement rates).
    """
    overrides = dict(overrides or {})
    known = {inp.name: inp for inp in network.inputs}
    for name in overrides:
        if name not in known:
            raise SpecError(f"run.inputs[{name!r}]", f"no input named {name!r}; known: {sorted(known)}")
    window = InputWindow(t_start=t_start, steps=steps)
    for inp in network.inputs:
        offset = t_start
        if inp.name in overrides:
            inp = _checked_override(inp, overrides[inp.name], network)
            offset = 0
        if isinstance(inp, SpikeInput):
            window.spikes[inp.name] = _slice_time(np.asarray(inp.spikes).astype(bool), offset, steps, (inp.size,))
        elif isinstance(inp, PoissonInput):
            window.spikes[inp.name] = poisson_spikes(inp, network.dt, t_start, steps)
        elif isinstance(inp, CurrentInput):
            values = np.asarray(inp.values, dtype=float)
            size = values.shape[-1]
            block = (
                np.broadcast_to(values, (steps, size))
                if values.ndim == 1
                else _slice_time(values, offset, steps, (size,))
            )
            if inp.target in window.currents:
                window.currents[inp.target] = window.currents[inp.target] + block
            else:
                window.currents[inp.target] = block
        elif isinstance(inp, ModulatorInput):
            values = np.asarray(inp.values, dtype=float)
            values = values[:, None] if values.ndim == 1 else values
            window.modulators[inp.name] = _slice_time(values, offset, steps, (values.shape[1],))
    return window
