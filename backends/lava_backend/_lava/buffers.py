"""The shared-memory buffers between the worker and the Lava processes, and every buffer's name.

Inputs are read from, and monitors written to, numpy ``.npy`` files in one
shared directory, memory-mapped by the worker and by every ProcessModel
(``Var.get`` sends one element per message, about 23 us each: reading a
1,000 x 1,000 raster that way takes ~23 s, a shared buffer ~1 ms).

Every buffer's name is built here and nowhere else:

=========================================  ==========================================  ===================
name                                       contents                                    written by
=========================================  ==========================================  ===================
:data:`CTRL`                               control words (``CTRL_*`` below), int64     worker
:data:`WEIGHT_GENERATIONS`                 one reload counter per connection           worker
:func:`input_key` (source)                 spike raster of a chunk, ``(chunk, n)``     worker
:func:`current_key` (population)           external current of a chunk                 worker
:func:`record_key` (variable, population)  ``spikes``/``v`` rows of a chunk, ``count``  neuron model
:func:`weights_in_key` (connection)        weights to load at the next step            worker
:func:`weights_out_key` (connection)       learned weights at the end of a chunk       learning model
:func:`snapshot_key` (connection)          weights every ``snapshot_every`` steps      learning model
:func:`modulator_key` (connection)         third-factor rows ``(chunk, 3, n_post)``    worker
=========================================  ==========================================  ===================

Numpy only (no Lava import): the caller's side (:mod:`.._client`) reads the
error file through :data:`ERROR_FILE` too.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

ERROR_FILE = "error.txt"
"""Tracebacks of failed ProcessModels, appended in the shared directory (the caller polls for it)."""

CTRL = "ctrl"
"""The control buffer (int64, :data:`CTRL_SIZE` words)."""
CTRL_BASE = 0
"""Lava time step before the chunk's first step: a model's row in a chunk buffer is ``time_step - base - 1``."""
CTRL_LENGTH = 1
"""Steps in the current chunk."""
CTRL_RESET = 2
"""Reset generation: a model that sees a new value clears its state before the step."""
CTRL_RESEED = 3
"""1 when the last reset also restored the weights: stochastic rounding then restarts from its seeds."""
CTRL_SIZE = 4

WEIGHT_GENERATIONS = "wgen"
"""One counter per connection (plan order): a model that sees a new value reloads :func:`weights_in_key`."""


def input_key(source: str) -> str:
    """Spike raster of the source ``source`` for one chunk (bool, ``(chunk, n)``)."""
    return f"in.{source}"


def current_key(population: str) -> str:
    """External current into ``population`` for one chunk (``(chunk, n)``, float or internal integer units)."""
    return f"cur.{population}"


def record_key(variable: str, population: str) -> str:
    """Monitored ``variable`` (``"spikes"``, ``"v"``, ``"count"``) of ``population``."""
    return f"rec.{variable}.{population}"


def weights_in_key(connection: str) -> str:
    """Weights the worker writes for ``connection`` to load (with a new :data:`WEIGHT_GENERATIONS` value)."""
    return f"win.{connection}"


def weights_out_key(connection: str) -> str:
    """Weights of a learning ``connection`` at the end of the last chunk (float64)."""
    return f"wout.{connection}"


def snapshot_key(connection: str) -> str:
    """Weights of a learning ``connection`` every ``snapshot_every`` steps of a chunk (``(rows, n_post, n_pre)``)."""
    return f"snap.{connection}"


def modulator_key(connection: str) -> str:
    """Third-factor inputs ``y1, y2, y3`` of a learning ``connection`` for one chunk (``(chunk, 3, n_post)``)."""
    return f"mod.{connection}"


class SharedBuffers:
    """Numpy ``.npy`` files in one directory, memory-mapped by every process that opens them."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._open: dict[str, np.ndarray] = {}

    def path(self, key: str) -> str:
        return os.path.join(self.directory, f"{key}.npy")

    def create(self, key: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        array = np.lib.format.open_memmap(self.path(key), mode="w+", dtype=dtype, shape=shape)
        self._open[key] = array.view(np.ndarray)
        return self._open[key]

    def __getitem__(self, key: str) -> np.ndarray:
        """The buffer as a plain ndarray on the shared mapping (``np.memmap``'s Python-level indexing costs
        about 4 us per element read, and the models read the control words several times per step)."""
        if key not in self._open:
            self._open[key] = np.load(self.path(key), mmap_mode="r+").view(np.ndarray)
        return self._open[key]

    def __contains__(self, key: str) -> bool:
        return key in self._open or os.path.exists(self.path(key))

    def report_error(self, where: str) -> None:
        """Append the current exception's traceback to :data:`ERROR_FILE`."""
        with open(os.path.join(self.directory, ERROR_FILE), "a") as handle:
            handle.write(f"[{where}] {traceback.format_exc()}\n")


class PhaseInterrupt(BaseException):
    """Raised by a fused graph's port to stop a model at its first receive (:mod:`.fusion`); never reported."""


class SharedModel:
    """Mixin of every ProcessModel: shared buffers, control words, error reporting.

    Every model indexes its chunk buffers by ``time_step - base - 1`` where
    ``base`` (:data:`CTRL_BASE`, written by the worker before each ``run``
    call) is the Lava time step before the chunk's first step. An exception
    inside a model is written to :data:`ERROR_FILE` before it propagates, so
    the caller reports it instead of waiting for a runtime that will never
    answer.
    """

    proc_params: Any
    time_step: int

    @property
    def shared(self) -> SharedBuffers:
        if not hasattr(self, "_shared"):
            self._shared = SharedBuffers(self.proc_params["shm_dir"])
        return self._shared

    @property
    def ctrl(self) -> np.ndarray:
        return self.shared[CTRL]

    def _row(self) -> int:
        return self.time_step - int(self.ctrl[CTRL_BASE]) - 1

    def _chunk_end(self) -> bool:
        ctrl = self.ctrl
        return self.time_step == int(ctrl[CTRL_BASE] + ctrl[CTRL_LENGTH])

    def _new_reset(self) -> bool:
        generation = int(self.ctrl[CTRL_RESET])
        if generation != getattr(self, "_reset_seen", 0):
            self._reset_seen = generation
            return True
        return False

    def _guard(self, phase: str, function: Callable[[], None]) -> None:
        try:
            function()
        except PhaseInterrupt:
            raise  # the fused graph stopping a model at its first receive: not a failure
        except BaseException:
            self.shared.report_error(f"{self.proc_params['name']}.{phase}, Lava step {self.time_step}")
            raise
