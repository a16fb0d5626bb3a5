"""Sweeps: seeds x configs x grid x backends as one job, on a local process pool or a Ray cluster.

``spikemem sweep SWEEP.toml`` expands a sweep file (:mod:`spikemem.sweep.plan`), runs every
point not yet done through ``spikemem run``'s code (:mod:`spikemem.sweep.worker`) on an
executor (:mod:`spikemem.sweep.executors`) and aggregates the results over seeds
(:mod:`spikemem.sweep.aggregate`, :mod:`spikemem.sweep.plots`). Nothing here imports a
simulator or Ray at import time.
"""

from spikemem.sweep.driver import format_plan, plan, run_sweep
from spikemem.sweep.plan import Point, Sweep, SweepError, load_sweep

__all__ = ["Point", "Sweep", "SweepError", "format_plan", "load_sweep", "plan", "run_sweep"]
