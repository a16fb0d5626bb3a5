"""Many independent samples in one Lava runtime: every population carries a sample axis (``run_batch``).

One time step of this network advances ``B`` samples at once, so Lava's
per-step cost (a message per port and a synchronisation of every process)
is paid once for ``B`` samples instead of once per sample, and every trial
of a request runs in one Lava ``run`` call instead of one call each.

Translation of a static :class:`~._plan.Plan` (no learning rules, delay 1):

- each population -> a ``SpecLIF`` of shape ``(B, n)`` (the spec's neuron
  models are elementwise, so the same models run it);
- each projection from a population -> ``BatchDense`` (``(B, n_pre)`` spikes
  in, ``(B, n_post)`` activation out);
- each projection from a spike input -> ``InputDense``: the projection fused
  with its source, reading the input raster itself (no ``SpikeSource``
  process, no message);
- records (spikes, potentials, counts) are written by the neuron models into
  ``(chunk, B, n)`` shared buffers, as in the unbatched network.

Every run starts all ``B`` rows from the reset state; rows beyond the
request's trials run on zero input and are dropped. The buffers live in a
subdirectory of the worker's shared directory, with the same names as the
unbatched network's (:mod:`._lava.buffers`).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ._lava.buffers import (
    CTRL,
    CTRL_BASE,
    CTRL_LENGTH,
    CTRL_RESEED,
    CTRL_RESET,
    CTRL_SIZE,
    WEIGHT_GENERATIONS,
    SharedBuffers,
    current_key,
    input_key,
    record_key,
    weights_in_key,
)
from ._plan import Plan
from ._profile import Profile


def start_runtimes(anchors: list[Any], run_cfg: Any, profile: Profile, prefix: str) -> None:
    """Compile and start the runtime of each anchor's connected processes, timed in two phases.

    ``<prefix>compile_s``: Lava's compiler (model discovery, channel plan; in a fresh worker also the first
    import of its modules); ``<prefix>start_s``: the runtime's initialisation (one fork per process, channels).
    """
    for anchor in anchors:
        with profile.phase(f"{prefix}compile_s"):
            executable = anchor.compile(run_cfg)
        with profile.phase(f"{prefix}start_s"):
            anchor.create_runtime(executable=executable)


SUBDIRECTORY = "batched"
"""The batched network's shared buffers: this subdirectory of the worker's."""


def batch_refusal(plan: Plan) -> str | None:
    """Why ``plan`` cannot run with a sample axis (None: it can)."""
    for conn in plan.connections:
        if conn.rule is not None:
            return f"projection {conn.name!r} learns (trials would depend on each other)"
        if conn.delay != 1:
            return f"projection {conn.name!r} has delay {conn.delay} (the batched synapses have Dense's delay 1)"
    return None


def step_bytes(plan: Plan) -> int:
    """Shared-buffer bytes of one sample and one step: input rows, currents and records."""
    total = sum(src.size for src in plan.sources)
    for neuron in plan.neurons:
        total += 8 * neuron.size * neuron.has_current
        total += neuron.size * ("spikes" in neuron.record) + 8 * neuron.size * ("v" in neuron.record)
    return max(1, total)


def batch_size(plan: Plan, trials: int, batch_trials: int, buffer_bytes: int) -> int:
    """Samples per step ``B``: the request's trials, at most ``batch_trials``, one step of each within the budget."""
    return max(1, min(trials, batch_trials, buffer_bytes // step_bytes(plan)))


class BatchedNetwork:
    """The static network of ``plan`` with ``batch`` samples per step, in its own Lava runtime.

    Parameters
    ----------
    plan
        A plan without learning rules or delays (:func:`batch_refusal`).
    batch
        Samples per step.
    shm_dir
        The worker's shared directory (the buffers go into :data:`SUBDIRECTORY`).
    buffer_bytes
        Budget of one chunk's shared buffers; fixes the steps per Lava ``run`` call.
    """

    def __init__(self, plan: Plan, batch: int, shm_dir: str, buffer_bytes: int, profile: Profile | None = None) -> None:
        refusal = batch_refusal(plan)
        if refusal is not None:
            raise ValueError(f"no batched network: {refusal}")
        self.plan = plan
        self.batch = batch
        self.shm_dir = os.path.join(shm_dir, SUBDIRECTORY)
        os.makedirs(self.shm_dir, exist_ok=True)
        self.chunk = max(1, min(10_000, buffer_bytes // (batch * step_bytes(plan))))
        self.buffers = SharedBuffers(self.shm_dir)
        self.lava_t = 0
        self.procs: dict[str, Any] = {}
        self.connections: dict[str, Any] = {}
        self._create_buffers()
        self._create_neurons()
        self._create_connections()
        self.anchor = self._components()
        self._start(profile or Profile())

    def _create_buffers(self) -> None:
        plan, buf, shape = self.plan, self.buffers, (self.chunk, self.batch)
        buf.create(CTRL, (CTRL_SIZE,), np.int64)
        buf.create(WEIGHT_GENERATIONS, (max(1, len(plan.connections)),), np.int64)
        for src in plan.sources:
            buf.create(input_key(src.name), (*shape, src.size), bool)
        v_dtype = np.int64 if plan.numeric == "fixed" else np.float64
        for neuron in plan.neurons:
            if neuron.has_current:
                buf.create(current_key(neuron.name), (*shape, neuron.size), v_dtype)
            if "spikes" in neuron.record:
                buf.create(record_key("spikes", neuron.name), (*shape, neuron.size), bool)
            if "v" in neuron.record:
                buf.create(record_key("v", neuron.name), (*shape, neuron.size), v_dtype)
            if "count" in neuron.record:
                buf.create(record_key("count", neuron.name), (self.batch, neuron.size), np.int64)
        for conn in plan.connections:
            buf.create(weights_in_key(conn.name), conn.weights.shape, conn.weights.dtype)

    def _create_neurons(self) -> None:
        from ._lava.neuron.process import SpecLIF

        for neuron in self.plan.neurons:
            shape = (self.batch, neuron.size)
            self.procs[neuron.name] = SpecLIF(
                shape=shape,
                v_init=np.broadcast_to(neuron.v_init, shape).copy(),
                name=neuron.name,
                shm_dir=self.shm_dir,
                params=neuron.fixed if self.plan.numeric == "fixed" else neuron.float_params,
                record=neuron.record,
                has_current=neuron.has_current,
            )

    def _create_connections(self) -> None:
        from lava.utils.weightutils import SignMode

        from ._lava.batched.process import BatchDense, InputDense

        sources = {src.name for src in self.plan.sources}
        for index, conn in enumerate(self.plan.connections):
            common: dict[str, Any] = {
                "batch": self.batch,
                "weights": conn.weights.copy(),
                "name": conn.name,
                "shm_dir": self.shm_dir,
                "index": index,
            }
            if self.plan.numeric == "fixed":
                sign_mode = {"mixed": SignMode.MIXED, "excitatory": SignMode.EXCITATORY}.get(
                    conn.sign_mode, SignMode.INHIBITORY
                )
                common.update(weight_exp=conn.exponent, num_weight_bits=8, sign_mode=sign_mode)
            if conn.pre in sources:
                proc = InputDense(key=input_key(conn.pre), **common)
            else:
                proc = BatchDense(**common)
                self.procs[conn.pre].s_out.connect(proc.s_in)
            proc.a_out.connect(self.procs[conn.post].a_in)
            self.connections[conn.name] = proc

    def _components(self) -> list[Any]:
        """One neuron per connected component (the fused input synapses belong to their target's)."""
        parent = {name: name for name in self.procs}

        def find(name: str) -> str:
            while parent[name] != name:
                parent[name] = parent[parent[name]]
                name = parent[name]
            return name

        for conn in self.plan.connections:
            if conn.pre in parent:
                parent[find(conn.pre)] = find(conn.post)
        roots: dict[str, Any] = {}
        for name, proc in self.procs.items():
            roots.setdefault(find(name), proc)
        return list(roots.values())

    def _start(self, profile: Profile) -> None:
        from lava.magma.core.run_configs import Loihi2SimCfg

        tag = "fixed_pt" if self.plan.numeric == "fixed" else "floating_pt"
        start_runtimes(self.anchor, Loihi2SimCfg(select_tag=tag), profile, "batch_")

    # -- requests --------------------------------------------------------------------------
    def run(
        self, trials: int, steps: int, spikes: dict[str, np.ndarray], currents: dict[str, np.ndarray], profile: Any
    ) -> list[dict[str, np.ndarray]]:
        """Run ``trials`` (<= ``batch``) trials of ``steps`` steps from the reset state; one record per trial.

        ``spikes`` and ``currents`` hold a leading trial axis ``(trials, steps, n)``.
        """
        from lava.magma.core.run_conditions import RunSteps

        ctrl = self.buffers[CTRL]
        ctrl[CTRL_RESEED] = 0
        ctrl[CTRL_RESET] += 1
        out = self._empty_records(trials, steps)
        for start in range(0, steps, self.chunk):
            stop = min(start + self.chunk, steps)
            length = stop - start
            with profile.phase("write_inputs_s"):
                for src in self.plan.sources:
                    self._write(input_key(src.name), spikes[src.name], trials, start, stop)
                for neuron in self.plan.neurons:
                    if neuron.has_current:
                        self._write(current_key(neuron.name), currents[neuron.name], trials, start, stop)
            with profile.phase("lava_run_s"):
                ctrl[CTRL_BASE] = self.lava_t
                ctrl[CTRL_LENGTH] = length
                for anchor in self.anchor:
                    anchor.run(condition=RunSteps(num_steps=length))
                self.lava_t += length
            profile.count("lava_runs", len(self.anchor))
            profile.count("lava_steps", length)
            with profile.phase("read_records_s"):
                for neuron in self.plan.neurons:
                    for variable in ("spikes", "v"):
                        if variable in neuron.record:
                            rows = self.buffers[record_key(variable, neuron.name)][:length, :trials]
                            out[f"{neuron.name}.{variable}"][:, start:stop] = rows.swapaxes(0, 1)
        with profile.phase("read_records_s"):
            for neuron in self.plan.neurons:
                if "count" in neuron.record:
                    out[f"{neuron.name}.count"] = np.array(self.buffers[record_key("count", neuron.name)][:trials])
            records = [{key: value[trial] for key, value in out.items()} for trial in range(trials)]
        return records

    def _write(self, key: str, values: np.ndarray, trials: int, start: int, stop: int) -> None:
        buffer = self.buffers[key]
        buffer[: stop - start, :trials] = np.swapaxes(values[:trials, start:stop], 0, 1)
        buffer[: stop - start, trials:] = 0

    def _empty_records(self, trials: int, steps: int) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for neuron in self.plan.neurons:
            if "spikes" in neuron.record:
                out[f"{neuron.name}.spikes"] = np.zeros((trials, steps, neuron.size), dtype=bool)
            if "v" in neuron.record:
                dtype = self.buffers[record_key("v", neuron.name)].dtype
                out[f"{neuron.name}.v"] = np.zeros((trials, steps, neuron.size), dtype=dtype)
            if "count" in neuron.record:
                self.buffers[record_key("count", neuron.name)][:] = 0
        return out

    def set_weights(self, index: int, name: str, weights: np.ndarray) -> None:
        """Load ``weights`` into connection ``name`` (plan index ``index``) before the next step."""
        self.buffers[weights_in_key(name)][:] = weights
        self.buffers[WEIGHT_GENERATIONS][index] += 1

    def close(self) -> None:
        """Stop the runtime (after one step if it never ran: see ``LavaNetwork.close``)."""
        if self.lava_t == 0:
            from lava.magma.core.run_conditions import RunSteps

            self.buffers[CTRL][CTRL_LENGTH] = 1
            for anchor in self.anchor:
                anchor.run(condition=RunSteps(num_steps=1))
        for anchor in self.anchor:
            anchor.stop()
