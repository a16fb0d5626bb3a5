r"""A fast numpy emulation of the local learner with a fixed hidden layer, for ablations (not a backend).

The simulators run the learner's rules step by step (``spikemem run``, minutes per
configuration); this module computes what they learn in seconds, to search the
configuration space before the real runs (``experiments/README.md``, "Learned
hidden layer"). It keeps the learner's equations and replaces two things:

- the fixed layer's spike counts come from a layer-synchronous LIF loop,
  :math:`v_t = \beta v_{t-1} + W_1 x`, :math:`s_t = [v_t \ge \vartheta]`,
  :math:`v_t \leftarrow v_t - \vartheta s_t` for ``T`` steps (the spec network
  counts the same window, delayed);
- HLOP's lateral neurons are replaced by what OjaSubspace converges to: the
  top ``lateral_per_task`` right singular vectors of the task's residual
  counts :math:`C - C B^\top B` (uncentred, as the rule sees them); or, with
  ``oja_eta`` (``--oja-eta``), they learn with the rule itself, one step per
  hidden spike vector :math:`s_t` (the simulators' graded OjaSubspace with
  ``tau_pre = 0``): :math:`\tilde s = s_t - B^\top B s_t`, :math:`y = H \tilde s`,
  :math:`H \leftarrow H + \eta\, y (\tilde s - H^\top y)^\top`, from random
  orthonormal rows orthogonal to ``B``, over the task's samples in training
  order (every epoch), then appended to ``B`` and orthonormalised.

The readout learns exactly as the simulators' ErrorModulated rule does,
:math:`\Delta W = \frac{\lambda}{B} \sum_b M_b (f_b - B^\top B f_b)^\top` (a last, short minibatch's
:math:`M_b` scaled by ``B / len``, as in the learner) with
:math:`f_b = c_b / T` and :math:`M_b = \text{onehot}(y_b) - \mathrm{softmax}(W f_b)`.
Its weights and sample order come from its own seeds, so its figures are close to,
not equal to, a simulator's.

Run: ``python -m spikemem.continual.local.emulation --hidden 1000 --v-th 2 --epochs 3``
(``--help`` for the keys; ``--single-task`` trains task 0 only).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from spikemem.continual.local.learner import consolidate, softmax
from spikemem.continual.streams import StreamConfig, TaskStream, build_stream


@dataclass(frozen=True)
class EmulatedRun:
    """What an emulated run measured.

    Attributes
    ----------
    R
        ``R[i, j]``: accuracy on task ``j`` after training task ``i``.
    subspace_rank
        Rows of the protected subspace at the end (HLOP; 0 for fine-tuning).
    """

    R: np.ndarray
    subspace_rank: int

    @property
    def acc(self) -> float:
        """Mean accuracy over all tasks after the last one."""
        return float(self.R[-1].mean())

    @property
    def forgetting(self) -> float:
        """Mean over tasks but the last of (best accuracy before the end - final accuracy)."""
        n = self.R.shape[0]
        if n < 2:
            return 0.0
        return float(np.mean([self.R[: n - 1, j].max() - self.R[-1, j] for j in range(n - 1)]))


def lif_counts(drive: np.ndarray, steps: int, beta: float, v_th: float) -> np.ndarray:
    """Spike counts ``(N, n)`` of LIF neurons under a constant drive ``(N, n)`` for ``steps`` steps (subtract reset)."""
    v = np.zeros_like(drive)
    counts = np.zeros_like(drive)
    for _ in range(steps):
        v = beta * v + drive
        spikes = v >= v_th
        v = v - v_th * spikes
        counts += spikes
    return counts


def lif_raster(drive: np.ndarray, steps: int, beta: float, v_th: float) -> np.ndarray:
    """Spikes ``(N, steps, n)`` of :func:`lif_counts`'s neurons, step by step (its counts are their sum over steps)."""
    v = np.zeros_like(drive)
    raster = np.zeros((drive.shape[0], steps, drive.shape[1]), dtype=bool)
    for t in range(steps):
        v = beta * v + drive
        raster[:, t] = v >= v_th
        v = v - v_th * raster[:, t]
    return raster


def oja_lateral(
    raster: np.ndarray, order: np.ndarray, basis: np.ndarray, rows: int, eta: float, rng: np.random.Generator
) -> np.ndarray:
    r"""``rows`` lateral neurons that learn graded OjaSubspace on the spike vectors of ``raster[order]``, step by step.

    :math:`\tilde s = s - B^\top B s`, :math:`y = H \tilde s`, :math:`\Delta H = \eta\, y (\tilde s - H^\top y)^\top`
    (silent steps change nothing); ``H`` starts as random orthonormal rows orthogonal to ``B``.
    """
    from spikemem.continual.local.learner import orthonormal_complement_rows

    lateral = orthonormal_complement_rows(rows, basis, rng)
    for sample in order:
        for spikes in raster[sample]:
            if not spikes.any():
                continue
            x = spikes.astype(np.float64)
            if basis.shape[0]:
                x = x - (basis @ x) @ basis
            y = lateral @ x
            lateral += eta * np.outer(y, x - y @ lateral)
    return lateral


def emulate(
    stream: TaskStream,
    hidden: int,
    weight_scale: float = 3.0,
    v_th: float = 1.0,
    beta: float = 0.5,
    steps: int = 10,
    lr: float = 0.5,
    epochs: int = 1,
    batch_size: int = 32,
    lateral_per_task: int = 40,
    method: str = "hlop",
    tasks: int | None = None,
    seed: int = 0,
    oja_eta: float | None = None,
) -> EmulatedRun:
    """Emulate ``continual_local`` with a fixed hidden layer on ``stream`` (module docstring).

    ``tasks`` (default all) trains only the first tasks; ``R`` has one row per trained task.
    ``oja_eta``: the lateral neurons learn with OjaSubspace at this rate (``lateral_eta``) instead of
    being the exact principal directions.
    """
    rng = np.random.default_rng(seed)
    pixels = stream.tasks[0].x_train
    mean, std = float(np.mean(pixels)), float(np.std(pixels)) or 1.0
    w1 = rng.normal(0.0, weight_scale / np.sqrt(stream.n_inputs), (hidden, stream.n_inputs))

    def features(x: np.ndarray) -> np.ndarray:
        return lif_counts(((x - mean) / std) @ w1.T, steps, beta, v_th) / steps

    data = [(features(t.x_train), t.y_train, features(t.x_test), t.y_test) for t in stream.tasks]
    classes = stream.head_sizes[0]
    readout = np.zeros((classes, hidden))
    basis = np.zeros((0, hidden))
    trained = len(data) if tasks is None else tasks
    R = np.zeros((trained, len(data)))
    for i in range(trained):
        f, y = data[i][0], data[i][1]
        project = method == "hlop" and basis.shape[0] > 0
        orders = []
        for _ in range(epochs):
            order = rng.permutation(len(y))
            orders.append(order)
            for start in range(0, len(y), batch_size):
                index = order[start : start + batch_size]
                error = np.eye(classes)[y[index]] - softmax(f[index] @ readout.T)
                error *= batch_size / len(index)  # as the learner: the rate assumes full minibatches
                pre = f[index] - (f[index] @ basis.T) @ basis if project else f[index]
                readout += lr / batch_size * error.T @ pre
        if method == "hlop":
            rows = min(lateral_per_task, hidden - basis.shape[0])
            if oja_eta is None:
                residual = f - (f @ basis.T) @ basis
                basis = np.vstack([basis, np.linalg.svd(residual, full_matrices=False)[2][:rows]])
            else:
                raster = lif_raster(((stream.tasks[i].x_train - mean) / std) @ w1.T, steps, beta, v_th)
                lateral = oja_lateral(raster, np.concatenate(orders), basis, rows, oja_eta, rng)
                basis = consolidate(basis, lateral)[0]
        for j, (_, _, f_test, y_test) in enumerate(data):
            R[i, j] = np.mean((f_test @ readout.T).argmax(axis=1) == y_test)
    return EmulatedRun(R, int(basis.shape[0]))


def main(argv: list[str] | None = None) -> int:
    """Command line: one emulated run on permuted digits; prints ACC, forgetting and the learning accuracies."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=400)
    parser.add_argument("--weight-scale", type=float, default=3.0)
    parser.add_argument("--v-th", type=float, default=1.0)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--lateral-per-task", type=int, default=40)
    parser.add_argument("--method", choices=["hlop", "finetune"], default="hlop")
    parser.add_argument("--tasks", type=int, default=5)
    parser.add_argument("--single-task", action="store_true", help="train task 0 only; report its test accuracy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--oja-eta", type=float, default=None, help="lateral neurons learn by OjaSubspace, this rate")
    args = parser.parse_args(argv)
    config = StreamConfig(source="digits", kind="permuted", tasks=args.tasks, test_fraction=0.2)
    stream = build_stream(config, np.random.default_rng(args.seed))
    run = emulate(
        stream,
        args.hidden,
        weight_scale=args.weight_scale,
        v_th=args.v_th,
        lr=args.lr,
        epochs=args.epochs,
        lateral_per_task=args.lateral_per_task,
        method=args.method,
        tasks=1 if args.single_task else None,
        seed=args.seed + 1000,
        oja_eta=args.oja_eta,
    )
    if args.single_task:
        print(f"task 0 test accuracy {run.R[0, 0]:.3f}")
        return 0
    diagonal = " ".join(f"{run.R[i, i]:.3f}" for i in range(run.R.shape[0]))
    print(f"ACC {run.acc:.3f}  forgetting {run.forgetting:.3f}  learning accuracy {diagonal}  rank {run.subspace_rank}")
    return 0


__all__ = ["EmulatedRun", "emulate", "lif_counts", "lif_raster", "main", "oja_lateral"]

if __name__ == "__main__":
    raise SystemExit(main())
