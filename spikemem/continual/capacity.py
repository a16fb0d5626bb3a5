r"""Lateral-subspace capacity: a schedule of lateral neurons checked against the widths it protects.

HLOP (:mod:`spikemem.continual.methods.hlop`, and the local learner's
``local.lateral_per_task``) adds :math:`k_{t,l}` lateral neurons to protected
layer :math:`l` at task :math:`t`; a layer of input width :math:`w_l` holds at
most :math:`w_l` of them (``LateralSubspace.grow`` caps the rest silently).
After task :math:`t` the frozen subspace of layer :math:`l` has

.. math:: d_{t,l} = \min\Bigl(w_l,\ \sum_{s \le t} k_{s,l}\Bigr)

dimensions, and task :math:`t + 1` updates layer :math:`l` only in the
:math:`w_l - d_{t,l}` directions left. Two checks, before anything runs:

- **warning** (:func:`spikemem.config.config_warning`) where the cap applies,
  :math:`\sum_t k_{t,l} > w_l`: the run does not get the neurons it asks for;
- **error** (:class:`~spikemem.config.ConfigError`) where every protected
  layer is full before the last task, :math:`d_{T-2,l} = w_l` for all
  :math:`l`: the later tasks cannot change any weight and stay at chance, so
  the result would be meaningless.
"""

from __future__ import annotations

from collections.abc import Sequence

from spikemem.config import ConfigError, config_warning


def _first_task_over(asked: Sequence[int], limit: int, strict: bool) -> int:
    """First task whose cumulative count reaches (``strict``: exceeds) ``limit``; ``len(asked)`` if none does."""
    total = 0
    for task, count in enumerate(asked):
        total += count
        if total > limit or (not strict and total == limit):
            return task
    return len(asked)


def _tasks_from(first: int, tasks: int) -> str:
    return f"task {first}" if first == tasks - 1 else f"tasks {first}..{tasks - 1}"


def check_lateral_capacity(fields: Sequence[str], widths: Sequence[int | None], added: Sequence[Sequence[int]]) -> None:
    """Warn where the lateral neurons are capped; raise ConfigError where no layer could learn a later task.

    Parameters
    ----------
    fields
        Config key of each layer's schedule (named in the messages), one per layer.
    widths
        Input width :math:`w_l` of each protected layer (None where unknown before the data is read).
    added
        ``added[t][l]``: lateral neurons asked for layer ``l`` at task ``t`` (one row per task of the stream).
    """
    tasks = len(added)
    asked = [[int(row[layer]) for row in added] for layer in range(len(widths))]
    full_after = [
        tasks if w is None else _first_task_over(a, w, strict=False) for a, w in zip(asked, widths, strict=True)
    ]
    if full_after and max(full_after) < tasks - 1:
        raise ConfigError(
            fields[-1],
            f"lateral neurons fill every protected layer's inputs (widths {list(widths)}) by task {max(full_after)}: "
            f"{_tasks_from(max(full_after) + 1, tasks)} could not learn; ask for fewer lateral neurons or wider layers",
        )
    for layer, (field, width, counts) in enumerate(zip(fields, widths, asked, strict=True)):
        capped = tasks if width is None else _first_task_over(counts, width, strict=True)
        if capped < tasks:
            config_warning(
                field,
                f"layer {layer}'s lateral neurons are capped at its {width} inputs ({sum(counts)} asked over "
                f"{tasks} tasks; from task {capped} on it gets fewer than asked)",
            )


__all__ = ["check_lateral_capacity"]
