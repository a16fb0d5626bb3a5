"""One recorder of the monitored variables of a run, over a kernel's arrays.

Buffers are preallocated in the kernel's library (on the device for
torch) and copied back to numpy once, at the end of the run:

- ``spikes``: ``(B, steps, n)`` bool; ``v``: ``(B, steps, n)`` in the
  kernel's potential dtype (integer units in fixed point);
- ``count``: ``(B, n)`` int64, summed from the raster at the end when the
  target's spikes are recorded too, else accumulated every step;
- ``weights``: the final ``(n_post, n_pre)`` float64, or with ``every`` a
  snapshot after every ``every``-th step, ``(steps // every, n_post, n_pre)``
  (no batch axis: weights are shared by the trials);
- a spike input's raster and count are read from the input windows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spikemem.engine.kernel import Kernel
from spikemem.spec import Monitor, Network
from spikemem.stimulus import InputWindow


class Recorder:
    """Collects the monitors of ``network`` for one run of ``steps`` steps and ``batch`` trials."""

    def __init__(self, network: Network, kernel: Kernel, steps: int, batch: int, spike_inputs: frozenset[str]) -> None:
        self.kernel = kernel
        self.monitors: list[Monitor] = list(network.monitors)
        self.unbatched = {m.key for m in self.monitors if m.variable == "weights"}
        self.buffers: dict[str, Any] = {}
        self.spike_inputs = spike_inputs
        rasters = {m.target: m.key for m in self.monitors if m.variable == "spikes" and m.target not in spike_inputs}
        self.from_raster: dict[str, str] = {}  # count monitor key -> key of the raster it is summed from
        # per kind of monitor: (buffer, target) pairs, so that a step does no lookups (rasters and
        # potentials: the buffer's per-step views, made at once)
        self._rasters: list[tuple[list[Any], str]] = []
        self._potentials: list[tuple[list[Any], str]] = []
        self._counts: list[tuple[Any, str]] = []
        self._snapshots: list[tuple[Any, str, int]] = []
        for monitor in self.monitors:
            if monitor.target in spike_inputs:
                continue  # read from the input windows at the end
            if monitor.variable == "count" and monitor.target in rasters:
                self.from_raster[monitor.key] = rasters[monitor.target]
                continue
            if monitor.variable == "weights":
                if monitor.every is None:
                    continue
                weights = kernel.weights[monitor.target]
                buffer = kernel.zeros((steps // monitor.every, *weights.shape), weights.dtype)
                self._snapshots.append((buffer, monitor.target, monitor.every))
            else:
                size = network.population(monitor.target).size
                if monitor.variable == "count":
                    buffer = kernel.zeros((batch, size), kernel.count_dtype)
                    self._counts.append((buffer, monitor.target))
                else:
                    spikes = monitor.variable == "spikes"
                    buffer = kernel.zeros((batch, steps, size), kernel.spike_dtype if spikes else kernel.value_dtype)
                    per_step = self._rasters if spikes else self._potentials
                    per_step.append((list(buffer.swapaxes(0, 1)), monitor.target))
            self.buffers[monitor.key] = buffer

    def step(self, k: int, emitted: dict[str, Any], neurons: dict[str, Any], weights: dict[str, Any]) -> None:
        """Record step ``k`` of the run: the spikes ``emitted``, the neuron states and the weights."""
        copy = self.kernel.copy_into
        for views, target in self._rasters:
            copy(views[k], emitted[target])
        for views, target in self._potentials:
            copy(views[k], neurons[target].v)
        for buffer, target in self._counts:
            buffer += emitted[target]
        for buffer, target, every in self._snapshots:
            if (k + 1) % every == 0:
                copy(buffer[(k + 1) // every - 1], weights[target])

    def finish(self, windows: list[InputWindow], weights: dict[str, Any]) -> dict[str, np.ndarray]:
        """The recorded arrays as numpy, keyed ``"target.variable"`` in the monitors' order."""
        kernel = self.kernel
        data: dict[str, np.ndarray] = {}
        for monitor in self.monitors:
            key, target = monitor.key, monitor.target
            if key in self.from_raster:
                continue
            if target in self.spike_inputs:  # a spike input: its raster is the windows themselves
                raster = np.stack([w.spikes[target] for w in windows])
                data[key] = raster if monitor.variable == "spikes" else raster.sum(axis=1, dtype=np.int64)
            elif monitor.variable == "weights":
                stored = self.buffers[key] if key in self.buffers else weights[target]
                data[key] = kernel.weights_to_float(target, kernel.to_numpy(stored))
            else:
                value = kernel.to_numpy(self.buffers[key])
                data[key] = value.astype(np.int64) if monitor.variable == "count" else value
        for key, raster in self.from_raster.items():
            data[key] = data[raster].sum(axis=1, dtype=np.int64)
        return {m.key: data[m.key] for m in self.monitors}
