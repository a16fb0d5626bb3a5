r"""Elastic weight consolidation (Kirkpatrick et al., 2017), online form (Schwarz et al., 2018).

After task ``i`` the diagonal Fisher information of every parameter is
estimated on ``fisher_samples`` training samples (squared gradients of the
log-likelihood of the sampled model prediction, minibatches of
``fisher_batch``, scaled to per-sample units) and merged,
:math:`F \leftarrow \gamma F + F_i`; the parameters are stored as
:math:`\theta^*`. Later tasks add

.. math:: \frac{\lambda}{2} \sum_p F_p\, (\theta_p - \theta^*_p)^2

to the loss. Plain SGD on that term is stable only while
``lr * strength * max F < 2``; a larger strength is refused before the next
task starts (the error gives the largest usable value).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from spikemem.continual.config import ConfigError, require
from spikemem.continual.methods.base import Method
from spikemem.continual.streams import Task, TaskStream
from spikemem.continual.training import Trainer

if TYPE_CHECKING:
    from spikemem.continual.model import SpikingMLP


@dataclass(frozen=True)
class EWCConfig:
    """The ``[ewc]`` table: ``strength`` :math:`\\lambda`, ``gamma``, ``fisher_samples``, ``fisher_batch``."""

    strength: float = 1000.0
    gamma: float = 1.0
    fisher_samples: int = 500
    fisher_batch: int = 16

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        require(self.strength >= 0, f"{table}.strength", "must be >= 0")
        require(0.0 <= self.gamma <= 1.0, f"{table}.gamma", "must be in [0, 1]")
        require(self.fisher_samples >= 1 and self.fisher_batch >= 1, f"{table}.fisher_samples", "must be >= 1")


class EWC(Method):
    """Quadratic penalty weighted by the diagonal Fisher information (module docstring)."""

    name = "ewc"

    def __init__(self, model: SpikingMLP, stream: TaskStream, config: EWCConfig) -> None:
        super().__init__(model, stream)
        self.config = config
        self.fisher: list[torch.Tensor] | None = None
        self.anchor: list[torch.Tensor] | None = None

    def begin_task(self, index: int, task: Task, trainer: Trainer, generator: torch.Generator) -> None:
        """Refuse a penalty too stiff for SGD (it would diverge): ``lr * strength * max F < 2``."""
        if self.fisher is None:
            return
        stiffness = trainer.config.lr * self.config.strength * max(float(f.max()) for f in self.fisher)
        if stiffness >= 2.0:
            limit = 2.0 * self.config.strength / stiffness
            raise ConfigError(
                "ewc.strength",
                f"lr * strength * max Fisher = {stiffness:.3g} >= 2 after task {index - 1}: SGD on the penalty "
                f"diverges; use a strength below {limit:.3g} (or a smaller training.lr)",
            )

    def penalty(self) -> torch.Tensor | None:
        r""":math:`\frac{\lambda}{2} \sum F (\theta - \theta^*)^2` (None before the first task ends)."""
        if self.fisher is None or self.anchor is None:
            return None
        terms = [
            (f * (p - a) ** 2).sum() for p, f, a in zip(self.model.parameters(), self.fisher, self.anchor, strict=True)
        ]
        return 0.5 * self.config.strength * torch.stack(terms).sum()

    def end_task(self, index: int, task: Task, trainer: Trainer, generator: torch.Generator) -> dict[str, Any]:
        """Estimate this task's Fisher information and anchor the parameters."""
        config, params = self.config, list(self.model.parameters())
        data = trainer.data(index, task)
        fisher = [torch.zeros_like(p) for p in params]
        seen = 0
        for batch in trainer.batches(data.x_train, data.y_train, data.head, config.fisher_batch, generator):
            if seen >= config.fisher_samples:
                break
            logits = trainer.forward(batch, generator).logits[:, : task.classes]
            probabilities = F.softmax(logits.detach(), dim=1).to(generator.device)
            sampled = torch.multinomial(probabilities, 1, generator=generator).squeeze(1).to(logits.device)
            loss = F.cross_entropy(logits, sampled, reduction="sum")
            grads = torch.autograd.grad(loss, params, allow_unused=True)
            size = batch.labels.shape[0]
            for total, grad in zip(fisher, grads, strict=True):
                if grad is not None:
                    total += grad.detach() ** 2 / size
            seen += size
        batches = -(-seen // config.fisher_batch)
        fisher = [f / batches for f in fisher]
        if self.fisher is None:
            self.fisher = fisher
        else:
            self.fisher = [config.gamma * old + new for old, new in zip(self.fisher, fisher, strict=True)]
        self.anchor = [p.detach().clone() for p in params]
        return {
            "fisher_mean": [float(f.mean()) for f in self.fisher],
            "fisher_max": [float(f.max()) for f in self.fisher],
        }

    def state_dict(self) -> dict[str, Any]:
        """Fisher information and anchor parameters."""
        return {"fisher": self.fisher, "anchor": self.anchor}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        device = next(self.model.parameters()).device
        self.fisher = None if state["fisher"] is None else [t.to(device) for t in state["fisher"]]
        self.anchor = None if state["anchor"] is None else [t.to(device) for t in state["anchor"]]


__all__ = ["EWC", "EWCConfig"]
