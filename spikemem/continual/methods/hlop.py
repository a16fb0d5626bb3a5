r"""HLOP: Hebbian learning based orthogonal projection (Xiao et al., ICLR 2024).

Each protected layer has lateral neurons (:class:`~spikemem.continual.subspace.LateralSubspace`)
whose weights learn, with the Oja subspace rule, the principal subspace of
that layer's inputs. Per task ``i``:

1. ``begin_task``: add ``k_{i,l}`` lateral neurons to layer ``l``, orthogonal
   to the frozen ones. With ``growth = "energy"`` (the default) ``k_{i,l}``
   follows the layer's input: on ``samples`` training samples of the new task,
   run through the current network, ``k_{i,l}`` is the smallest count whose
   principal directions of the residual (the part of the input outside the
   frozen subspace) lift the fraction of the task's input energy inside the
   subspace to ``threshold[l]`` (GPM's criterion,
   :func:`~spikemem.continual.methods.gpm.energy_rank`): a task the subspace
   already covers adds nothing, whatever the layer's width. With ``growth =
   "count"``: ``initial`` for task 0, ``increment - increment_decay *
   floor(i / decay_every)`` after (the reference code's schedule). Either way
   a layer of ``n`` inputs holds at most ``floor(max_fraction[l] * n)``
   neurons, so ``n - floor(max_fraction[l] * n)`` directions stay free to
   learn; a layer that reaches that cap is named in a warning
   (:func:`spikemem.config.config_warning`, once per layer and run) with the
   keys that change it, and in the task's diagnostics;
2. training: the weight update of every protected layer uses the input
   projected orthogonally to the frozen subspace (tasks ``< i``),
   :math:`x_\perp = x - H^\top H x`; from epoch ``start_epoch`` on, after
   every SGD step, ``iterations`` Oja-subspace steps of the new lateral
   neurons on the batch's layer inputs (the paper's concurrent Hebbian phase);
3. ``end_task``: optionally ``consolidation_epochs`` more passes over the
   task's training data with the final weights (forward only, Hebbian steps
   only; a subspace of the activity the task ends with, see the config docs);
   then the new neurons are merged (frozen; with ``orthonormalize``, as the
   closest orthonormal rows).

Diagnostics per task: lateral neurons per layer, the neurons added, the
layers at their cap, and the fraction of the task's input energy inside each
layer's subspace (on up to 512 samples).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import torch

from spikemem.config import config_warning
from spikemem.continual.config import require
from spikemem.continual.methods.base import Method, per_layer
from spikemem.continual.methods.gpm import energy_rank
from spikemem.continual.streams import Task, TaskStream
from spikemem.continual.subspace import HebbianSettings, LateralSubspace
from spikemem.continual.training import Trainer

if TYPE_CHECKING:
    from spikemem.continual.model import Forward, SpikingMLP


@dataclass(frozen=True)
class HLOPConfig:
    r"""The ``[hlop]`` table (per-layer lists: one value for all layers, or one per protected layer).

    Attributes
    ----------
    growth
        ``"energy"``: neurons added per task by the energy criterion (``threshold``, module docstring);
        ``"count"``: the fixed schedule ``initial`` / ``increment`` / ``increment_decay`` / ``decay_every``.
    threshold
        Energy fraction :math:`\epsilon_l` per layer that the subspace must hold of each new task's layer
        input (``growth = "energy"``); higher protects more and leaves less room.
    max_fraction
        Per layer: at most ``floor(max_fraction * n)`` lateral neurons for ``n`` inputs (1.0: the layer
        may freeze); reaching it prints a warning.
    samples
        Training samples of the new task on which ``growth = "energy"`` measures the layer inputs.
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
    orthonormalize
        Freeze the closest orthonormal rows to the learned ones (same subspace,
        :meth:`~spikemem.continual.subspace.LateralSubspace.merge`): the projection becomes exact where the
        Hebbian rule has not fully converged.
    """

    growth: Literal["energy", "count"] = "energy"
    threshold: tuple[float, ...] = (0.9, 0.8, 0.8)
    max_fraction: tuple[float, ...] = (0.9,)
    samples: int = 300
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
    orthonormalize: bool = True

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        require(min(self.initial) >= 0 and min(self.increment) >= 0, f"{table}.initial", "sizes must be >= 0")
        require(min(self.eta) > 0, f"{table}.eta", "must be > 0")
        require(all(0.0 < t <= 1.0 for t in self.threshold), f"{table}.threshold", "must be in (0, 1]")
        require(all(0.0 <= f <= 1.0 for f in self.max_fraction), f"{table}.max_fraction", "must be in [0, 1]")
        require(self.samples >= 1, f"{table}.samples", "must be >= 1")
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
        energy = config.growth == "energy"
        self.thresholds = per_layer(config.threshold, len(layers), "hlop.threshold") if energy else ()
        fractions = per_layer(config.max_fraction, len(layers), "hlop.max_fraction")
        self.caps = [math.floor(f * w.shape[1]) for f, w in zip(fractions, layers, strict=True)]
        if not energy:  # check the list lengths now
            config.added(0, len(layers))
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
        self.warned = [False] * len(layers)
        self.capped: list[bool] = [False] * len(layers)
        self.added: list[int] = []

    @torch.no_grad()
    def asked(self, index: int, task: Task, trainer: Trainer, generator: torch.Generator) -> tuple[int, ...]:
        """Lateral neurons each layer asks for at the start of task ``index`` (before the cap)."""
        if self.config.growth == "count":
            return self.config.added(index, len(self.subspaces))
        data = trainer.data(index, task)
        chosen = torch.randperm(data.x_train.shape[0], generator=generator)[: self.config.samples].to(trainer.device)
        inputs: list[list[torch.Tensor]] = [[] for _ in self.subspaces]
        trainer.model.eval()
        for batch in trainer.batches(
            data.x_train[chosen], data.y_train[chosen], data.head, trainer.config.eval_batch_size, None
        ):
            for rows, x in zip(inputs, trainer.forward(batch, generator, record=True).inputs or [], strict=True):
                rows.append(x)
        trainer.model.train()
        counts = []
        for subspace, rows, threshold in zip(self.subspaces, inputs, self.thresholds, strict=True):
            span = torch.linalg.qr(subspace.fixed.T.to(torch.float64))[0].T if subspace.n_fixed else subspace.fixed
            counts.append(energy_rank(span, torch.cat(rows), threshold)[0])
        return tuple(counts)

    def begin_task(self, index: int, task: Task, trainer: Trainer, generator: torch.Generator) -> None:
        """Grow every layer's lateral neurons for the new task (at most up to the layer's cap)."""
        self.added.clear()
        for layer, (subspace, count) in enumerate(
            zip(self.subspaces, self.asked(index, task, trainer, generator), strict=True)
        ):
            room = max(0, self.caps[layer] - subspace.size)
            self.capped[layer] = count >= room and (count > 0 or subspace.size > 0)
            if self.capped[layer] and not self.warned[layer]:
                self.warned[layer] = True
                self._warn(layer, index, count, room)
            subspace.grow(min(count, room), generator)
            self.added.append(min(count, room))

    def _warn(self, layer: int, index: int, count: int, room: int) -> None:
        n, cap = self.subspaces[layer].n_inputs, self.caps[layer]
        key = "hlop.threshold" if self.config.growth == "energy" else "hlop.increment"
        state = (
            "the layer is frozen for every later task"
            if cap == n
            else f"later tasks change it only in the {n - cap} directions left: it is nearly frozen"
        )
        config_warning(
            key,
            f"layer {layer}'s lateral subspace reaches its cap of {cap} of its {n} inputs at task {index} "
            f"({count} neurons asked, {room} added): {state}; if later tasks stop learning, lower {key} for "
            f"layer {layer} or widen the layer (hlop.max_fraction sets the cap)",
        )

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
            subspace.merge(self.config.orthonormalize)
        trainer.model.train()
        return {
            "lateral_neurons": [s.size for s in self.subspaces],
            "added": list(self.added),
            "at_cap": list(self.capped),
            "captured_energy": energy,
        }

    def state_dict(self) -> dict[str, Any]:
        """Every layer's lateral weights."""
        return {"subspaces": [s.state_dict() for s in self.subspaces]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        for subspace, saved in zip(self.subspaces, state["subspaces"], strict=True):
            subspace.load_state_dict(saved)


__all__ = ["HLOP", "HLOPConfig"]
