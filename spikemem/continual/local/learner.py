r"""Continual learning with local rules inside a simulator (no autograd): :class:`LocalLearner`.

Per minibatch of ``B`` samples (all in one run, :class:`~.network.SampleWindows`):

1. the static network (:func:`~.network.static_network`, the minibatch's
   starting weights) gives each sample's logits :math:`z_b`, hence the error
   :math:`M_b = \text{onehot}(y_b) - \mathrm{softmax}(z_b)` (the negative
   gradient of the cross-entropy with respect to :math:`z`);
2. the learning network (:func:`~.network.learning_network`) runs the same
   samples with :math:`M_b` as the third factor of sample ``b``'s window.
   Inside the simulator the readout learns with
   :class:`~spikemem.spec.ErrorModulated`,

   .. math:: \Delta W = \frac{\lambda}{B T} \sum_b M_b\, (c_b - B_{old}^\top B_{old} c_b)^\top

   (``c_b`` the hidden spike counts; ``B_old`` the consolidated lateral
   subspace, HLOP only), and HLOP's new lateral neurons learn the principal
   subspace of the hidden activity that ``B_old`` leaves unexplained with
   graded :class:`~spikemem.spec.OjaSubspace`.

Fixed point (Lava): the readout's weights are 8-bit mantissas spanning
:math:`\pm` ``weight_limit`` (backend option ``weight_ranges``, and the
rule's bounds, so the step stays the same for the whole run), every rule signal a
7-bit code (see the Lava backend's ``_plan``, "Fixed point"), and the
static network scores each sample from the reset state (``run_batch``): its
readout integrates in a 24-bit register sized for one sample, not a minibatch.

After a task (HLOP) the new lateral neurons are consolidated: their weights,
read back from the simulator, are appended to ``B_old`` and the rows
orthonormalised (a QR step on the host; the rule has already made them
nearly orthonormal, :attr:`TaskStats.lateral_orthonormality` reports how
nearly).

Learned hidden layer (``[network] learned_hidden``). The input drives the
fixed random layer; a second hidden layer reads its spikes through
``layer_2``, which learns inside the simulator with the same
:class:`~spikemem.spec.ErrorModulated` rule, its third factor the output
error sent back through a fixed random matrix ``F`` (direct feedback
alignment, Nøkland 2016; one value per neuron of the layer):

.. math:: \Delta W_2 = \frac{\lambda_h}{B T} \sum_b (F^\top M_b)\,
          (c^{(1)}_b - B_{in}^\top B_{in} c^{(1)}_b)^\top

(``c^(1)`` the fixed layer's spike counts). HLOP protects it exactly as it
protects the readout: a second population of lateral neurons learns the
subspace ``B_in`` of the fixed layer's activity with graded OjaSubspace, so
a later task cannot change the learned layer's response to an earlier
task's inputs, nor therefore the readout's input on them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from spikemem.continual.basis import orthonormal_complement
from spikemem.continual.inference import hidden_name, run_steps
from spikemem.continual.local.config import LocalConfig
from spikemem.continual.local.network import (
    ERROR,
    HEADS,
    HIDDEN_ERROR,
    INPUT_LATERAL,
    INPUT_LATERAL_PROJECTION,
    LATERAL,
    LATERAL_PROJECTION,
    LEARNED_PROJECTION,
    READOUT,
    Lateral,
    SampleWindows,
    learning_network,
    static_network,
)
from spikemem.continual.trained import TrainedMLP
from spikemem.cost import OperationCounts, cost_section
from spikemem.spec import ErrorModulated, OjaSubspace

Progress = Callable[[Iterable[Any], str, int], Iterable[Any]]
Encode = Callable[[np.ndarray], np.ndarray]


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax."""
    shifted = np.exp(z - z.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def orthonormal_complement_rows(count: int, basis: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``count`` random orthonormal rows orthogonal to the rows of ``basis`` (initial lateral weights).

    Draws ``(count, n)`` normal rows from ``rng``, then :func:`~spikemem.continual.basis.orthonormal_complement`.
    """
    return orthonormal_complement(rng.normal(size=(count, basis.shape[1])), basis).copy()


def consolidate(basis: np.ndarray, lateral: np.ndarray) -> tuple[np.ndarray, float]:
    r"""Append learned lateral rows to the basis, orthonormalised; also return :math:`\max|H H^\top - I|`."""
    deviation = float(np.abs(lateral @ lateral.T - np.eye(lateral.shape[0])).max(initial=0.0))
    residual = lateral - (lateral @ basis.T) @ basis
    q, r = np.linalg.qr(residual.T)
    keep = np.abs(np.diag(r)) > 1e-8 * max(1.0, float(np.abs(r).max(initial=0.0)))
    return np.vstack([basis, q.T[keep]]), deviation


@dataclass
class TaskStats:
    """What training one task measured.

    Attributes
    ----------
    samples
        Training samples presented (all epochs).
    train_seconds
        Wall time of the task's training (both networks, all minibatches).
    subspace_rank
        Rows of the consolidated lateral subspace after the task (HLOP; 0 for finetune).
    lateral_orthonormality
        :math:`\\max|H H^\top - I|` of the new lateral weights as the rule left them (HLOP;
        the larger of the two populations' with a learned layer).
    input_subspace_rank
        Rows of the consolidated subspace of the learned layer's input (None without one).
    """

    samples: int
    train_seconds: float
    subspace_rank: int
    lateral_orthonormality: float | None
    cost: dict[str, Any] | None = None
    """Counted operations per training sample of the learning network's runs (:func:`spikemem.cost.cost_section`;
    the static network's run that gives the error, about one inference per sample, is not in it); None when not
    counted."""
    input_subspace_rank: int | None = None


class LocalLearner:
    """Trains the readout of ``model`` task after task with local rules on one backend.

    Parameters
    ----------
    model
        One hidden layer (kept fixed), or a fixed one and a learned one
        (``layers[1]``), and one shared head (learned).
    config
        The ``[local]`` table.
    backend
        Backend name; it must run :class:`~spikemem.spec.ErrorModulated` (and
        graded :class:`~spikemem.spec.OjaSubspace` with a basis for HLOP).
    gap
        Silent steps after each sample.
    options
        Backend options.
    eval_batch
        Samples per run when scoring.
    feedback
        The learned layer's fixed random feedback matrix ``F`` ``(classes, n_learned)``
        (required with two hidden layers).
    """

    def __init__(
        self,
        model: TrainedMLP,
        config: LocalConfig,
        backend: str,
        gap: int,
        options: dict[str, Any] | None = None,
        eval_batch: int = 200,
        feedback: np.ndarray | None = None,
    ) -> None:
        from spikemem.backends import get_backend

        if len(model.layers) not in (1, 2) or len(model.heads) != 1:
            raise ValueError("the local learner trains one shared head on one fixed hidden layer (and one learned one)")
        self.learned = len(model.layers) == 2
        if self.learned and (feedback is None or feedback.shape != (model.heads[0].shape[0], model.layers[1].shape[0])):
            raise ValueError("a learned hidden layer needs its feedback matrix (classes, n_learned)")
        self.feedback = None if feedback is None else np.asarray(feedback, dtype=np.float64)
        self.model = model
        self.config = config
        self.windows = SampleWindows(model, gap)
        self.backend = get_backend(backend)
        self.options = dict(options or {})
        self.fixed = self.options.get("numeric", "float") == "fixed"
        if self.fixed:
            self.options["weight_ranges"] = {HEADS: config.weight_limit}
            if self.learned:
                self.options["weight_ranges"][LEARNED_PROJECTION] = config.weight_limit
        self.eval_batch = int(eval_batch)
        self._tasks = 0
        self.basis = np.zeros((0, model.layers[-1].shape[0]))
        self.input_basis = np.zeros((0, model.layers[0].shape[0]))
        self._static = self.backend.compile(static_network(model), **self.options)
        fixed_point = self._static.fixed_point  # the backend's own quantization (options included)
        self._readout_scale = fixed_point.populations[READOUT].scale if fixed_point is not None else 1.0

    def close(self) -> None:
        """Release the simulator of the static network."""
        self._static.close()

    # -- state -----------------------------------------------------------------------------
    @property
    def readout(self) -> np.ndarray:
        """Current readout weights ``(classes, n_hidden)``."""
        return self.model.heads[0]

    def state(self) -> dict[str, np.ndarray]:
        """What a checkpoint keeps: readout weights, consolidated bases, the learned layer, tasks learned."""
        state = {"readout": self.readout.copy(), "basis": self.basis.copy(), "tasks": np.array(self._tasks)}
        if self.learned:
            state["learned"] = self.model.layers[1].copy()
            state["input_basis"] = self.input_basis.copy()
        return state

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Continue from :meth:`state` (a resumed run draws the same fixed-point seeds as one that ran through)."""
        self.model.heads[0] = np.array(state["readout"], dtype=np.float64)
        self.basis = np.array(state["basis"], dtype=np.float64)
        self._tasks = int(state.get("tasks", 0))
        if self.learned:
            self.model.layers[1] = np.array(state["learned"], dtype=np.float64)
            self.input_basis = np.array(state["input_basis"], dtype=np.float64)

    # -- scoring ---------------------------------------------------------------------------
    def logits(self, encoded: np.ndarray) -> np.ndarray:
        """Logits ``(B, classes)`` of encoded samples with the current weights (static network)."""
        self._static.set_weights(HEADS, self.readout)
        if self.learned:
            self._static.set_weights(LEARNED_PROJECTION, self.model.layers[1])
        parts = []
        for start in range(0, encoded.shape[0], self.eval_batch):
            chunk = encoded[start : start + self.eval_batch]
            if self.fixed:  # one trial per sample, each from the reset state
                record = self._static.run_batch(run_steps(self.model), self.windows.trial_inputs(chunk))
                parts.append(record["readout.v"][:, -1] / (self.model.steps * self._readout_scale))
                continue
            self._static.reset()
            record = self._static.run(self.windows.steps(chunk.shape[0]), self.windows.inputs(chunk))
            parts.append(self.windows.logits(record["readout.v"]))
        return np.concatenate(parts)

    def accuracy(self, encoded: np.ndarray, labels: np.ndarray) -> float:
        """Fraction of samples whose largest logit is their label."""
        return float(np.mean(self.logits(encoded).argmax(axis=1) == np.asarray(labels)))

    # -- learning --------------------------------------------------------------------------
    def _rules(self, batch: int) -> tuple[ErrorModulated, ErrorModulated | None]:
        """The readout's rule and the learned layer's (None without one)."""
        cfg = self.config
        hlop = cfg.method == "hlop"
        basis = self.basis if hlop and self.basis.shape[0] else None
        eta = cfg.lr / (batch * self.model.steps)
        limit = cfg.weight_limit if self.fixed else None  # fixed point: the 8-bit range, fixed for the whole run
        bounds = {"w_min": None if limit is None else -limit, "w_max": limit}
        readout = ErrorModulated(eta=eta, modulator=ERROR, tau_pre=0.0, basis=basis, **bounds)
        if not self.learned:
            return readout, None
        input_basis = self.input_basis if hlop and self.input_basis.shape[0] else None
        hidden_eta = cfg.hidden_lr / (batch * self.model.steps)
        return readout, ErrorModulated(eta=hidden_eta, modulator=HIDDEN_ERROR, tau_pre=0.0, basis=input_basis, **bounds)

    def _laterals(self, rng: np.random.Generator) -> list[Lateral]:
        """HLOP's new lateral neurons of this task: on the readout's input and, with a learned layer, on its input."""
        cfg = self.config
        if cfg.method != "hlop":
            return []
        rng = np.random.default_rng(_seed_sequence(rng).spawn(1)[0])  # the sample order does not depend on the method
        last = hidden_name(len(self.model.layers) - 1)
        wanted = [(LATERAL, LATERAL_PROJECTION, last, self.basis, cfg.lateral_per_task)]
        if self.learned:
            wanted.append(
                (INPUT_LATERAL, INPUT_LATERAL_PROJECTION, hidden_name(0), self.input_basis, cfg.input_lateral_per_task)
            )
        laterals = []
        for population, projection, source, basis, per_task in wanted:
            rows = min(per_task, basis.shape[1] - basis.shape[0])
            if rows == 0:
                continue
            given = basis if basis.shape[0] else None
            rule = OjaSubspace(eta=cfg.lateral_eta, tau_pre=cfg.lateral_tau, activity="graded", basis=given)
            weights = orthonormal_complement_rows(rows, basis, rng)
            laterals.append(Lateral(source, weights, rule, population, projection))
        return laterals

    def _hidden_error(self, error: np.ndarray) -> np.ndarray:
        r"""The learned layer's third factor :math:`h_b = F^\top M_b`: the output error through random feedback."""
        assert self.feedback is not None
        return error @ self.feedback

    def train_task(
        self,
        x_train: np.ndarray,
        y_train: np.ndarray,
        encode: Encode,
        rng: np.random.Generator,
        progress: Progress | None = None,
    ) -> TaskStats:
        """Learn one task (``epochs`` passes of minibatches in a seeded order); see the module docstring."""
        cfg = self.config
        start_time = time.perf_counter()
        readout_rule, hidden_rule = self._rules(cfg.batch_size)
        laterals = self._laterals(rng)
        options = dict(self.options)
        if self.fixed:  # fresh stochastic rounding for every task's simulation, from the run's seed
            options["seed"] = int(np.random.SeedSequence([options.get("seed", 0), self._tasks]).generate_state(1)[0])
        self._tasks += 1
        network = learning_network(self.model, readout_rule, hidden_rule=hidden_rule, laterals=tuple(laterals))
        learner = self.backend.compile(network, **options)
        if self.model.encoding == "direct":  # the drive is W_1 x: n_0 MACs per element (spikemem.cost)
            learner.graded_fan_in = {hidden_name(0): self.model.n_inputs}
        classes = self.readout.shape[0]
        samples = 0
        train_counts: OperationCounts | None = None
        try:
            batches = [
                order[i : i + cfg.batch_size]
                for order in (rng.permutation(len(y_train)) for _ in range(cfg.epochs))
                for i in range(0, len(order), cfg.batch_size)
            ]
            steps: Iterable[np.ndarray] = batches
            if progress is not None:
                steps = progress(batches, f"local {cfg.method} ({self.backend.name})", len(batches))
            for index in steps:
                encoded = encode(x_train[index])
                error = np.eye(classes)[y_train[index]] - softmax(self.logits(encoded))
                error *= cfg.batch_size / len(index)  # the rules' eta assume full minibatches
                inputs = self.windows.inputs(encoded)
                inputs[ERROR] = self.windows.during_counted_steps(error)
                if hidden_rule is not None:
                    inputs[HIDDEN_ERROR] = self.windows.during_counted_steps(self._hidden_error(error), 0)
                learner.reset()
                counted = learner.run(self.windows.steps(len(index)), inputs).cost
                if counted is not None:
                    train_counts = counted if train_counts is None else train_counts + counted
                self.model.heads[0] = learner.weights(HEADS)
                if hidden_rule is not None:
                    self.model.layers[1] = learner.weights(LEARNED_PROJECTION)
                samples += len(index)
            deviation = None
            for lateral in laterals:  # consolidate each population into its basis
                old = self.input_basis if lateral.population == INPUT_LATERAL else self.basis
                new, lateral_deviation = consolidate(old, learner.weights(lateral.projection))
                if lateral.population == INPUT_LATERAL:
                    self.input_basis = new
                else:
                    self.basis = new
                deviation = max(deviation or 0.0, lateral_deviation)
        finally:
            learner.close()
        cost = None if train_counts is None else cost_section(train_counts, unit="training sample", units=samples)
        return TaskStats(
            samples,
            time.perf_counter() - start_time,
            int(self.basis.shape[0]),
            deviation,
            input_subspace_rank=int(self.input_basis.shape[0]) if self.learned else None,
            cost=cost,
        )


def _seed_sequence(rng: np.random.Generator) -> np.random.SeedSequence:
    """The seed sequence ``rng`` was made from (a Generator made from seeds holds a SeedSequence)."""
    seed_seq = rng.bit_generator.seed_seq
    if not isinstance(seed_seq, np.random.SeedSequence):
        raise TypeError("the task's generator must be seeded from a SeedSequence (spikemem.seeding.derived_rng)")
    return seed_seq


__all__ = ["LocalLearner", "TaskStats", "consolidate", "orthonormal_complement_rows", "softmax"]
