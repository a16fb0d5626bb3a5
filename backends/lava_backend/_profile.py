"""Where a Lava worker's time goes: seconds per phase and counts, accumulated until read.

Phases (seconds, wall clock of the worker):

``build_s``           create the processes as objects (at ``compile``; in a fresh worker, Lava's first imports)
``compile_s``         Lava's compiler for the runtime, at its first step (in a fresh worker, its first imports)
``start_s``           the runtime's initialisation: one fork per process, channels
``batch_build_s``     create and start the batched network of ``run_batch`` (at its first use); of which
                      ``batch_compile_s`` and ``batch_start_s`` as above
``load_inputs_s``     memory-map the request's input files
``write_inputs_s``    copy a chunk's inputs into the shared buffers the models read
``lava_run_s``        Lava ``run`` calls: every process's per-step work and channel messages
``read_records_s``    copy the monitored rows out of the shared buffers
``reset_s``           clear the state (a control word: the models reset at their next step)
``request.<name>_s``  the whole request as served by the worker (includes the phases above)

Counts: ``requests``, ``lava_runs`` (Lava ``run`` calls), ``lava_steps`` (steps of those calls: a batched
step advances every sample of the batch; a fused network runs a whole chunk in one Lava step),
``trials``; at the runtime's start, ``lava_processes`` (Lava processes of the
runtime: each one synchronises with Lava's runtime service in every phase of every step; 1 when the graph is
fused, ``fused_processes`` then counts the processes it runs inside, ``_lava.fusion``), and for the
batched network ``batch_lava_processes`` and ``batch_size`` (``B``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class Profile:
    """Accumulated seconds per phase and counts."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Add the wall time of the ``with`` block to ``name``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def count(self, name: str, amount: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + amount

    def take(self) -> dict[str, float | int]:
        """The figures so far (seconds and counts in one dict); the profile starts again from zero."""
        figures: dict[str, float | int] = {**self.seconds, **self.counts}
        self.seconds, self.counts = {}, {}
        return figures
