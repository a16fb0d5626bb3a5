"""Continual learning with local rules, inside the simulator: the ``continual_local`` experiment kind.

The BPTT pipeline (:mod:`spikemem.continual.experiment`) needs autograd;
Brian2 and Lava have none, so here the learning itself is local and runs as
plasticity of a spec network on the chosen backend:

- :mod:`~.config`: the ``[local]`` and ``[network]`` tables;
- :mod:`~.network`: the static and the learning spec networks, sample windows;
- :mod:`~.learner`: :class:`~.learner.LocalLearner` (error-modulated readout,
  HLOP lateral neurons with graded OjaSubspace, consolidation);
- :mod:`~.experiment`: the experiment kind: :class:`~.experiment.LocalTasks` in
  :func:`spikemem.continual.task_loop.run_task_loop` (resumable, writes ``trained_model.npz``).
"""

from spikemem.continual.local.config import LocalConfig, NetworkConfig

__all__ = ["LocalConfig", "NetworkConfig"]
