r"""HLOP: Hebbian learning based orthogonal projection (Xiao et al., ICLR 2024).

Each protected layer has lateral neurons (:class:`~spikemem.continual.subspace.LateralSubspace`)
whose weights learn, with the Oja subspace rule, the principal subspace of
that layer's inputs. Per task ``i``:

1. ``begin_task``: add ``k_i`` lateral neurons per layer (``initial`` for
   task 0; ``increment - increment_decay * floor(i / decay_every)`` after,
   the reference code's schedule), orthogonal to the frozen ones;
2. training: the weight update of every protected layer uses the input
   projected orthogonally to the frozen subspace (tasks ``< i``),
   :math:`x_\perp = x - H^\top H x`; from epoch ``start_epoch`` on, after
   every SGD step, ``iterations`` Oja-subspace steps of the new lateral
   neurons on the batch's layer inputs (the paper's concurrent Hebbian phase);
3. ``end_task``: optionally ``consolidation_epochs`` more passes over the
   task's training data with the final weights (forward only, Hebbian steps
   only; a subspace of the activity the task ends with, see the config docs);
   then the new neurons are merged (frozen).

Diagnostics per task: lateral neurons per layer and the fraction of the
task's input energy inside each layer's subspace (on up to 512 samples).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from spikemem.continual.config import require
from spikemem.continual.methods.base import Method, per_layer
from spikemem.continual.streams import Task, TaskStream
from spikemem.continual.subspace import HebbianSettings, LateralSubspace
from spikemem.continual.training import Trainer

if TYPE_CHECKING:
    from spikemem.continual.model import Forward, SpikingMLP


@dataclass(frozen=True)
class HLOPConfig:
    """The ``[hlop]`` table (per-layer lists: one value for all layers, or one per protected layer).

    Attributes
    ----------
    initial
        Lateral neurons per layer for the first task (reference: 80, 200, 100).
    increment
        Neurons added per layer for each later task (reference: 70).
    increment_decay, decay_every
        The increment shrinks by ``increment_decay`` every ``decay_every`` tasks (reference: 20, 3).
    eta
        Hebbian learning rate per layer (reference: 0.001 for the input layer, 0.01 after).
    momentum, dampening, clip
        Of the lateral rule (:class:`~spikemem.continual.subspace.HebbianSettings`).
    iterations
        Hebbian steps per training batch (reference: 5).
    start_epoch
        First epoch (0-based) of each task with Hebbian steps during training;
        ``>= epochs`` learns only in the consolidation passes.
    consolidation_epochs, consolidation_iterations
        Passes over the task's training data after training, and Hebbian steps per batch in them.
    """

    initial: tuple[int, ...] = (80, 200, 100)
    increment: tuple[int, ...] = (70,)
    increment_decay: int = 20
    decay_every: int = 3
    eta: tuple[float, ...] = (0.001, 0.01, 0.01)
    momentum: float = 0.9
    dampening: float = 0.9
    clip: float = 10.0
    iterations: int = 5
    start_epoch: int = 0
    consolidation_epochs: int = 0
    consolidation_iterations: int = 5

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        require(min(self.initial) >= 0 and min(self.increment) >= 0, f"{table}.initial", "sizes must be >= 0")
        require(min(self.eta) > 0, f"{table}.eta", "must be > 0")
        require(self.decay_every >= 1, f"{table}.decay_every", "must be >= 1")
        require(0.0 <= self.momentum < 1.0, f"{table}.momentum", "must be in [0, 1)")
        require(0.0 <= self.dampening <= 1.0, f"{table}.dampening", "must be in [0, 1]")
        require(self.iterations >= 0 and self.consolidation_iterations >= 0, f"{table}.iterations", "must be >= 0")
        require(self.consolidation_epochs >= 0 and self.start_epoch >= 0, f"{table}.start_epoch", "must be >= 0")

    def added(self, task: int, layers: int) -> tuple[int, ...]:
        """Lateral neurons added to each layer at the start of ``task``."""
        if task == 0:
            return per_layer(self.initial, layers, "hlop.initial")
        shrink = self.increment_decay * (task // self.decay_every)
        return tuple(max(0, k - shrink) for k in per_layer(self.increment, layers, "hlop.increment"))


class HLOP(Method):
    """Orthogonal projection onto subspaces learned by lateral Hebbian neurons (module docstring)."""

    name = "hlop"

    def __init__(self, model: SpikingMLP, stream: TaskStream, config: HLOPConfig) -> None:
        super().__init__(model, stream)
        self.config = config
        layers = model.protected
        etas = per_layer(config.eta, len(layers), "hlop.eta")
        config.added(0, len(layers))  # check the list lengths now
        config.added(1, len(layers))
        self.subspaces = [
            LateralSubspace(
                weight.shape[1],
                HebbianSettings(eta, config.momentum, config.dampening, config.clip),
                device=weight.device,
                dtype=weight.dtype,
            )
            for weight, eta in zip(layers, etas, strict=True)
        ]

    def begin_task(self, index: int, task: Task, trainer: Trainer, generator: torch.Generator) -> None:
        """Grow every layer's lateral neurons for the new task."""
        for subspace, count in zip(self.subspaces, self.config.added(index, len(self.subspaces)), strict=True):
            subspace.grow(count, generator)

    def bases(self) -> list[torch.Tensor | None]:
        """The frozen lateral weights of every layer (None before any task finished)."""
        return [s.fixed if s.n_fixed else None for s in self.subspaces]

    def records(self, epoch: int) -> bool:
        """Record layer inputs in the epochs with concurrent Hebbian learning."""
        return self.config.iterations > 0 and epoch >= self.config.start_epoch

    def after_step(self, forward: Forward, epoch: int) -> None:
        """Hebbian steps of the new lateral neurons on this batch's layer inputs."""
        self._learn(forward, self.config.iterations)

    def _learn(self, forward: Forward, iterations: int) -> None:
        assert forward.inputs is not None
        for subspace, x, residual in zip(self.subspaces, forward.inputs, forward.residuals, strict=True):
            if residual is not None:
                residual = residual.reshape(-1, residual.shape[-1])
            subspace.learn(x, iterations, residual)

    @torch.no_grad()
    def end_task(self, index: int, task: Task, trainer: Trainer, generator: torch.Generator) -> dict[str, Any]:
        """Consolidation passes, energy diagnostics, then merge the new neurons."""
        data = trainer.data(index, task)
        trainer.model.eval()
        for _ in range(self.config.consolidation_epochs):
            for batch in trainer.batches(data.x_train, data.y_train, data.head, trainer.config.batch_size, generator):
                self._learn(
                    trainer.forward(batch, generator, self.bases(), record=True), self.config.consolidation_iterations
                )
        sample = next(trainer.batches(data.x_train, data.y_train, data.head, 512, None))
        inputs = trainer.forward(sample, generator, record=True).inputs or []
        energy = [s.captured_energy(x) for s, x in zip(self.subspaces, inputs, strict=True)]
        for subspace in self.subspaces:
            subspace.merge()
        trainer.model.train()
        return {"lateral_neurons": [s.size for s in self.subspaces], "captured_energy": energy}

    def state_dict(self) -> dict[str, Any]:
        """Every layer's lateral weights."""
        return {"subspaces": [s.state_dict() for s in self.subspaces]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        for subspace, saved in zip(self.subspaces, state["subspaces"], strict=True):
            subspace.load_state_dict(saved)


__all__ = ["HLOP", "HLOPConfig"]
