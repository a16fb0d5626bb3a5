r"""The one loop over the tasks of a continual-learning run, shared by every kind of learner.

Both experiment kinds plug into :func:`run_task_loop`: ``continual`` (BPTT on
snnTorch, :mod:`spikemem.continual.experiment`) and ``continual_local``
(local rules inside a simulator, :mod:`spikemem.continual.local.experiment`).
A kind builds a :class:`Learner` (train one task, evaluate every task, its
state to and from a file, the trained model) and the loop does the rest, the
same way for both:

1. the untrained model's accuracy on every task, :math:`b_j` (``baseline``,
   recorded once);
2. resume: the state after the last finished task is read back
   (:class:`~spikemem.continual.task_records.TaskRecords`), finished tasks
   are not trained again;
3. for each remaining task ``i``: train, evaluate every task (row ``i`` of
   :math:`R`), write the state file, then record the row with the task's
   statistics (so a killed run resumes bit-identically);
4. ``trained_model.npz`` (:class:`~spikemem.continual.trained.TrainedMLP`),
   ``R.csv``, the plots, the printed summary and the metrics
   (:func:`spikemem.continual.report.run_report`);
5. the ``cost`` of the trained model per test inference and per training
   sample (:func:`spikemem.continual.run_cost.run_cost`), for a learner
   that exposes its ``tasks``; a learner that trains inside the simulator
   (``trains_in_simulator = True``) counts its training itself.

Random streams (all derived from the run's seed by ``ctx.rng``): training task
``i`` draws from ``rng("train", i)``; the evaluation after task ``i`` from
``rng("eval", i + 1)`` and the baseline from ``rng("eval", 0)``.

The loop sees the experiment runner only through :class:`RunContext` (which
the runner's ``ExperimentContext`` satisfies): this package sits below
:mod:`spikemem.experiments` and does not import it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Protocol, TypeVar, runtime_checkable

import numpy as np

from spikemem.continual.report import run_report
from spikemem.continual.run_cost import run_cost
from spikemem.continual.task_records import TaskRecords, UnitStore
from spikemem.continual.trained import MODEL_FILE, TrainedMLP
from spikemem.cost import format_cost
from spikemem.io import read_checked

T = TypeVar("T")


class RunContext(Protocol):
    """What a continual-learning kind needs from the runner (``spikemem.experiments.ExperimentContext``)."""

    config: dict[str, Any]
    backend: str
    seed: int
    out: Path
    checkpoint: UnitStore
    numeric: str
    """``"float"`` or ``"fixed"`` (``[experiment] numeric``)."""
    backend_options: dict[str, Any]
    """Keyword options of the backend's ``compile`` (``[backend_options.<backend>]``)."""

    def rng(self, *stream: int | str) -> np.random.Generator:
        """The generator of a named stream, derived from the run's seed."""
        ...

    def progress(self, iterable: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
        """``iterable``, with a progress bar when the run shows one."""
        ...


@runtime_checkable
class Learner(Protocol):
    """A model that learns tasks one after the other (the protocol of :func:`run_task_loop`).

    Attributes
    ----------
    state_prefix, state_suffix
        State files are ``<prefix>-<task>.<suffix>`` in the run directory.
    """

    state_prefix: str
    state_suffix: str

    def train_task(self, index: int, rng: np.random.Generator) -> dict[str, Any]:
        """Learn task ``index``; return its statistics (JSON data with ``train_seconds`` and ``samples``)."""
        ...

    def evaluate(self, rng: np.random.Generator) -> list[float]:
        """Accuracy on the test set of every task, with the current weights."""
        ...

    def write_state(self, index: int, handle: IO[bytes]) -> None:
        """Write what a resumed run needs after task ``index`` to ``handle``."""
        ...

    def read_state(self, path: Path) -> None:
        """Continue from a file written by :meth:`write_state`."""
        ...

    def trained_model(self) -> TrainedMLP:
        """The current weights and constants as backend-independent data."""
        ...

    def close(self) -> None:
        """Release simulators and global references (called once, also after an error)."""
        ...


_DAMAGED_STATE = "this run cannot resume from it: delete the run directory (or pass another --out) to train again"


def run_task_loop(ctx: RunContext, learner: Learner, tasks: int, label: str, info: dict[str, Any]) -> dict[str, Any]:
    """Train ``learner`` on ``tasks`` tasks, resumably, and report (module docstring).

    Parameters
    ----------
    ctx
        The run: output directory, checkpoint, random streams, progress bars.
    learner
        The kind's learner.
    tasks
        Number of tasks in the stream.
    label
        Title of the plots and of the printed summary.
    info
        Kind-specific entries of the metrics (method, stream, ...), placed after ``baseline``.

    Returns
    -------
    dict
        The metrics of ``result.json`` (:func:`spikemem.continual.report.run_report`).
    """
    store = TaskRecords(ctx.out, ctx.checkpoint, learner.state_prefix, learner.state_suffix)
    try:
        if "baseline" not in ctx.checkpoint:
            ctx.checkpoint.put("baseline", learner.evaluate(ctx.rng("eval", 0)))
        state = store.last_state()
        if state is not None:
            read_checked(state, "checkpoint state", learner.read_state, _DAMAGED_STATE)
        start = store.finished()
        for index in ctx.progress(range(start, tasks), "tasks", tasks - start):
            stats = learner.train_task(index, ctx.rng("train", index))
            record = {"accuracy": learner.evaluate(ctx.rng("eval", index + 1)), **stats}
            store.save_state(index, functools.partial(learner.write_state, index), record)
    finally:
        learner.close()
    model = learner.trained_model()
    model.save(ctx.out / MODEL_FILE)
    metrics = run_report(ctx.out, store.records(), ctx.checkpoint.get("baseline"), label, info)
    task_list = getattr(learner, "tasks", None)
    if task_list is not None:
        options = {k: v for k, v in ctx.backend_options.items() if k != "numeric"}
        bptt = not getattr(learner, "trains_in_simulator", False)
        metrics["cost"] = run_cost(model, list(task_list), ctx.seed, ctx.backend, ctx.numeric, options, bptt=bptt)
        if metrics["cost"]:
            print(format_cost(metrics["cost"]["per_test_inference"]))
    return metrics


__all__ = ["Learner", "RunContext", "run_task_loop"]
