"""The process that owns the Lava runtime of one simulation.

Started by :class:`~spikemem.backends.lava_backend._client.Worker` as
``python -m spikemem.backends.lava_backend._worker FD_IN FD_OUT SHM_DIR CALLER_PID`` in a
session of its own: Lava forks one process per ProcessModel from here, never
from the caller (whose CUDA context, threads or locks would not survive a
fork), and the caller can end the worker and every Lava process with one
``killpg`` when something hangs.

Requests (pickled tuples on ``FD_IN``) and replies (``("ok", value)`` or
``("error", message)`` on ``FD_OUT``):

- ``("build", plan)``: create the Lava processes and buffers; the runtime starts at the first
  Lava step (lazy: a simulation that only runs native batches never starts it);
- ``("run", inputs)``: run one window in chunks; ``inputs`` names the ``.npy``
  files the caller wrote into the shared directory (no large pickles through
  the pipe, so a request never blocks on a worker that stopped reading);
  reply with the monitored data;
- ``("run_batch", inputs)``: the same with a leading trial axis on every
  input file (of length 1: the same in every trial); each trial starts from the reset state (one runtime, no restart);
  reply with one record per trial. With ``inputs["native"]`` (a static plan,
  :func:`._batched.batch_refusal`) the trials run ``B`` at a time in a second
  runtime whose populations carry a sample axis (:mod:`._batched`), built at
  the first such request; otherwise one after another;
- ``("reset", weights)``: clear the dynamic state; ``weights``: name -> array to load
  (a ``run`` or ``run_batch`` carries the caller's pending resets as ``inputs["resets"]``, a
  ``set_weights`` as its third argument: a reset needs no request of its own);
- ``("set_weights", name, array, resets)``;
- ``("profile",)``: the :class:`._profile.Profile` figures since the last one;
- ``("release",)``: stop the runtimes, forget the network and remove its files; keep serving (the
  caller reuses the worker for its next simulation, :func:`._client.acquire_worker`);
- ``("close",)``: stop the runtime and exit.

The worker never outlives its caller (:class:`Lifeline`): when the caller dies (any signal, SIGKILL
included: the worker's parent changes), when the worker itself gets SIGTERM, SIGINT or SIGHUP, or
when a reply finds the pipe broken, it ends every Lava process of its group and removes its shared
directory, whatever its main thread is doing (a long ``run`` included); Lava's resource tracker is
spared so that it unlinks Lava's own shared-memory segments and exits once the others are gone.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from ._batched import BatchedNetwork, batch_refusal, batch_size, start_runtimes
from ._client import LOG_FILE, OWNERS_FILE, group_members
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
    modulator_key,
    record_key,
    snapshot_key,
    weights_in_key,
    weights_out_key,
)
from ._plan import ConnectionPlan, Plan, RulePlan, third_factor_inputs
from ._profile import Profile


class LavaNetwork:
    """The Lava processes of a plan and the shared buffers around them.

    Built in steps, each one method: the shared buffers, the sources, the
    neurons, the connections, the modulator sources and learning circuits of
    the plastic ones, the wiring, and the runtime.
    """

    def __init__(self, plan: Plan, shm_dir: str, profile: Profile | None = None) -> None:
        self.plan = plan
        self.profile = profile or Profile()
        self.batched: BatchedNetwork | None = None
        """The network with a sample axis, built at the first native ``run_batch``."""
        self.loaded = {conn.name: conn.weights for conn in plan.connections}
        """The weights last loaded into each connection (the plan's, or a ``set_weights``'s)."""
        self.shm_dir = shm_dir
        self.rng = np.random.default_rng([plan.seed, 0])  # fixed point: rounding of third-factor codes
        self.buffers = SharedBuffers(shm_dir)
        self.lava_t = 0
        self.procs: dict[str, Any] = {}
        """Sources and neurons by name."""
        self.connections: dict[str, Any] = {}
        self.modulators: dict[str, Any] = {}
        """``ModulatorSource`` of each connection whose rule has a modulator."""
        self.circuits: dict[str, Any] = {}
        """Learning circuit of each connection whose rule learns on a graded signal."""
        self._create_buffers()
        self._create_sources()
        self._create_neurons()
        self._create_connections()
        self._create_modulators()
        self._create_circuits()
        for conn in plan.connections:
            self._wire(conn)
        self.fused = self._fuse()
        """The one process that runs the whole graph (``plan.fuse``), or None: one process each."""
        self.anchor = [self.fused] if self.fused is not None else self._connect_components()
        self.run_cfg = self._run_config()
        self.started = False
        """Whether the runtime runs: it starts at the first Lava step (:meth:`_ensure_started`), not here."""

    # -- build steps -----------------------------------------------------------------------
    def _create_buffers(self) -> None:
        """Every shared buffer of the plan (names: :mod:`._lava.buffers`)."""
        plan, buf, chunk = self.plan, self.buffers, self.plan.chunk
        buf.create(CTRL, (CTRL_SIZE,), np.int64)
        buf.create(WEIGHT_GENERATIONS, (max(1, len(plan.connections)),), np.int64)
        for src in plan.sources:
            buf.create(input_key(src.name), (chunk, src.size), bool)
        v_dtype = np.int64 if plan.numeric == "fixed" else np.float64
        for neuron in plan.neurons:
            if neuron.has_current:
                buf.create(current_key(neuron.name), (chunk, neuron.size), v_dtype)
            if "spikes" in neuron.record:
                buf.create(record_key("spikes", neuron.name), (chunk, neuron.size), bool)
            if "v" in neuron.record:
                buf.create(record_key("v", neuron.name), (chunk, neuron.size), v_dtype)
            if "count" in neuron.record:
                buf.create(record_key("count", neuron.name), (neuron.size,), np.int64)
        for conn in plan.connections:
            shape = conn.weights.shape
            buf.create(weights_in_key(conn.name), shape, conn.weights.dtype)
            if conn.rule is None:
                continue
            buf.create(weights_out_key(conn.name), shape, np.float64)
            if conn.snapshot_every:
                buf.create(snapshot_key(conn.name), (chunk // conn.snapshot_every, *shape), np.float64)
            if conn.rule.modulator is not None:
                buf.create(modulator_key(conn.name), (chunk, 3, shape[0]), np.float64)

    def _create_sources(self) -> None:
        """A ``SpikeSource`` per spike input."""
        from ._lava.sources.process import SpikeSource

        for src in self.plan.sources:
            key = input_key(src.name)
            self.procs[src.name] = SpikeSource(shape=(src.size,), name=src.name, shm_dir=self.shm_dir, key=key)

    def _create_neurons(self) -> None:
        """A ``SpecLIF`` per population, with the float or the fixed-point parameters."""
        from ._lava.neuron.process import SpecLIF

        for neuron in self.plan.neurons:
            self.procs[neuron.name] = SpecLIF(
                shape=(neuron.size,),
                v_init=neuron.v_init,
                name=neuron.name,
                shm_dir=self.shm_dir,
                params=neuron.fixed if self.plan.numeric == "fixed" else neuron.float_params,
                record=neuron.record,
                has_current=neuron.has_current,
            )

    def _create_connections(self) -> None:
        """``Dense``, ``DelayDense``, ``LearningDense`` or (graded pre trace) ``ProjectedLearningDense``."""
        from lava.proc.dense.process import DelayDense, Dense

        for index, conn in enumerate(self.plan.connections):
            common = self._connection_params(index, conn)
            weights = conn.weights.copy()
            if conn.rule is not None:
                proc = self._learning_connection(conn, weights, common)
            elif conn.kind == "delay":
                proc = DelayDense(weights=weights, delays=int(conn.delay - 1), **common)
            else:
                proc = Dense(weights=weights, **common)
            self.connections[conn.name] = proc

    def _connection_params(self, index: int, conn: ConnectionPlan) -> dict[str, Any]:
        """Parameters of every connection process: name, buffers, weight index; fixed point: the weight format."""
        from lava.utils.weightutils import SignMode

        common: dict[str, Any] = {"name": conn.name, "shm_dir": self.shm_dir, "index": index}
        if self.plan.numeric == "fixed":
            sign_mode = {"mixed": SignMode.MIXED, "excitatory": SignMode.EXCITATORY, "inhibitory": SignMode.INHIBITORY}
            common.update(weight_exp=conn.exponent, num_weight_bits=8, sign_mode=sign_mode[conn.sign_mode])
        return common

    def _learning_connection(self, conn: ConnectionPlan, weights: np.ndarray, common: dict[str, Any]) -> Any:
        """``LearningDense`` with the rule, its bounds, mask and records (``ProjectedLearningDense`` if graded)."""
        from lava.magma.core.learning.constants import GradedSpikeCfg
        from lava.proc.dense.process import LearningDense

        from ._lava.connections.process import ProjectedLearningDense

        rule = conn.rule
        assert rule is not None
        learning_kwargs: dict[str, Any] = dict(
            weights=weights,
            tag_1=np.full(weights.shape, rule.tag_init),
            learning_rule=_learning_rule(rule),
            w_min=conn.w_min,
            w_max=conn.w_max,
            mask=conn.mask,
            snapshot_every=conn.snapshot_every,
            tag_init=rule.tag_init,
            **common,
        )
        if rule.graded:
            return ProjectedLearningDense(
                num_message_bits=24, graded_spike_cfg=GradedSpikeCfg.OVERWRITE, **learning_kwargs
            )
        return LearningDense(**learning_kwargs)

    def _create_modulators(self) -> None:
        """A ``ModulatorSource`` for each rule with a modulator (its rows: :func:`._plan.third_factor_inputs`)."""
        from ._lava.sources.process import ModulatorSource

        for conn in self.plan.connections:
            if conn.rule is not None and conn.rule.modulator is not None:
                self.modulators[conn.name] = ModulatorSource(
                    shape=(conn.weights.shape[0],),
                    name=f"{conn.name}.modulator",
                    shm_dir=self.shm_dir,
                    key=modulator_key(conn.name),
                )

    def _create_circuits(self) -> None:
        """The circuit that computes the graded pre trace of each such rule (see ``_plan``)."""
        from ._lava.circuits.process import ProjectedTrace, SubspaceResidual

        for index, conn in enumerate(self.plan.connections):
            rule = conn.rule
            if rule is None or not rule.graded:
                continue
            # fixed point: the codes' rounding is seeded per connection; mantissas -> float with the unit
            coding = {"plan": rule, "seed": [self.plan.seed, 1, index], "unit": conn.unit}
            name = f"{conn.name}.{rule.circuit}"
            common: dict[str, Any] = {
                "name": name,
                "shm_dir": self.shm_dir,
                "rule": rule.source,
                "dt": self.plan.dt,
                **coding,
            }
            n_post, n_pre = conn.weights.shape
            if rule.circuit == "projected":
                self.circuits[conn.name] = ProjectedTrace(size=n_pre, **common)
            else:
                self.circuits[conn.name] = SubspaceResidual(shape=(n_post, n_pre), **common)

    def _wire(self, conn: ConnectionPlan) -> None:
        """Connect one connection's ports: its input, circuit, learning ports and output.

        An InPort with several sources (a population's ``a_in``) sums them in
        the order of Lava's channels, which Lava takes from a ``set`` of
        Process objects (hashed by address, ``compiler_graphs.find_processes``):
        with several float inputs, the last bits of ``v`` (~1e-15) depend on
        memory layout, not on the order of these calls; spikes do not.
        """
        proc, pre, post = self.connections[conn.name], self.procs[conn.pre], self.procs[conn.post]
        circuit = self.circuits.get(conn.name)
        if circuit is not None:  # the weights carry the spikes forward, the circuit sets the pre trace
            pre.s_out.connect(proc.s_fwd)
            if conn.rule is not None and conn.rule.circuit != "projected":  # SubspaceResidual
                proc.w_out.connect(circuit.w_in)
                post.s_out.connect(circuit.s_post)
                _connect_third_factor(circuit, proc)
            pre.s_out.connect(circuit.s_in)
            circuit.x_out.connect(proc.s_in)
        if conn.rule is not None:
            post.s_out.connect(proc.s_in_bap)
        if conn.name in self.modulators:
            _connect_third_factor(self.modulators[conn.name], proc)
        if circuit is None:
            pre.s_out.connect(proc.s_in)
        proc.a_out.connect(post.a_in)

    def _fuse(self) -> Any:
        """A ``FusedNetwork`` of every process built above, if the plan's ``fuse`` mode asks for one.

        ``"auto"``: when its results are those of the per-process graph by construction (fixed point;
        float without a population that sums several float inputs, whose order Lava takes from a
        ``set``) and its graph can be fused; ``"always"``: any graph (a graph that cannot is refused);
        ``"never"``: one Lava process per population, synapse and circuit.
        """
        mode = self.plan.fuse
        if mode == "never":
            return None
        from ._lava.connections.models import LAVA_PROCESS_MODELS
        from ._lava.fused.process import FusedNetwork
        from ._lava.fusion import describe

        tag = "fixed_pt" if self.plan.numeric == "fixed" else "floating_pt"
        graph = describe(self._processes(), tag, LAVA_PROCESS_MODELS[tag])
        if mode == "auto" and self.plan.numeric == "float" and graph.float_sums():
            return None
        cycle = graph.deadlock()
        if cycle is not None:
            if mode == "always":
                raise ValueError(
                    f"options.fuse = 'always': this graph cannot run as one process ({cycle} waits on itself); "
                    "use fuse = 'auto' or 'never'"
                )
            return None
        return FusedNetwork(name="fused", shm_dir=self.shm_dir, graph=graph)

    def _processes(self) -> list[Any]:
        """Every Lava process of the graph: populations, synapses, modulators and circuits."""
        return [*self.procs.values(), *self.connections.values(), *self.modulators.values(), *self.circuits.values()]

    def _run_config(self) -> Any:
        """Lava's run configuration: our float or fixed-point models, selected by tag."""
        from lava.magma.core.run_configs import Loihi2SimCfg

        from ._lava.connections.models import LAVA_PROCESS_MODELS

        tag = "fixed_pt" if self.plan.numeric == "fixed" else "floating_pt"
        return Loihi2SimCfg(select_tag=tag, exception_proc_model_map=LAVA_PROCESS_MODELS[tag])

    def _ensure_started(self) -> None:
        """Compile and start the Lava processes before the first step this runtime runs.

        Lazy: a simulation whose trials all go through the batched network (``run_batch``) never
        starts this runtime (its start, one fork per process, was most of a dense recall's time).
        Resets and weights asked for before the start wait in the shared buffers (a reset
        generation, a weight generation), which the models read at their first step.
        """
        if self.started:
            return
        start_runtimes(self.anchor, self.run_cfg, self.profile, "")
        self.started = True
        processes = len(self._processes())
        self.profile.count("lava_processes", 1 if self.fused is not None else processes)
        self.profile.count("fused_processes", processes if self.fused is not None else 0)

    def _connect_components(self) -> list[Any]:
        """One process per connected component: Lava runs whatever is connected to the process it is asked to run."""
        parent: dict[str, str] = {name: name for name in self.procs}

        def find(name: str) -> str:
            while parent[name] != name:
                parent[name] = parent[parent[name]]
                name = parent[name]
            return name

        for conn in self.plan.connections:
            parent[find(conn.pre)] = find(conn.post)
        roots: dict[str, Any] = {}
        for name, proc in self.procs.items():
            roots.setdefault(find(name), proc)
        return list(roots.values())

    # -- requests --------------------------------------------------------------------------
    def run(self, inputs: dict[str, Any]) -> dict[str, np.ndarray]:
        """Run ``inputs["steps"]`` steps on the input files ``inputs[kind][name]`` (see ``save_inputs``).

        ``inputs["resets"]``: resets to do first (see :meth:`_pending_reset`).
        """
        self._pending_reset(inputs)
        with self.profile.phase("load_inputs_s"):
            spikes, currents, modulators = _load_inputs(inputs)
        return self._run_arrays(int(inputs["steps"]), spikes, currents, modulators)

    def _pending_reset(self, inputs: dict[str, Any]) -> None:
        """The resets the caller asked for since its last request, in order (their ``weights`` arguments)."""
        for weights in inputs.get("resets", ()):
            self.reset(weights)

    def run_batch(self, inputs: dict[str, Any]) -> list[dict[str, np.ndarray]]:
        """Run ``inputs["trials"]`` independent trials in this runtime, each from the reset state.

        The input files hold one leading trial axis; the reply is one record per trial.
        ``inputs["native"]``: ``B`` trials per step in the batched network (``inputs["batch_trials"]`` at
        most, within ``inputs["buffer_bytes"]``); otherwise one trial after another.
        """
        self._pending_reset(inputs)
        trials = int(inputs["trials"])
        with self.profile.phase("load_inputs_s"):
            spikes, currents, modulators = (trial_arrays(named, trials) for named in _load_inputs(inputs))
        self.profile.count("trials", trials)
        if inputs.get("native") and batch_refusal(self.plan) is None:
            return self._run_batched(inputs, trials, spikes, currents)
        records = []
        for trial in range(trials):
            self.reset(None)
            records.append(
                self._run_arrays(
                    int(inputs["steps"]),
                    {name: value[trial] for name, value in spikes.items()},
                    {name: value[trial] for name, value in currents.items()},
                    {name: value[trial] for name, value in modulators.items()},
                )
            )
        return records

    def _run_batched(
        self, inputs: dict[str, Any], trials: int, spikes: dict[str, np.ndarray], currents: dict[str, np.ndarray]
    ) -> list[dict[str, np.ndarray]]:
        """The trials ``B`` at a time; the batched network is (re)built when a request wants a larger ``B``."""
        size = batch_size(self.plan, trials, int(inputs["batch_trials"]), int(inputs["buffer_bytes"]))
        if self.batched is None or self.batched.batch < size:
            if self.batched is not None:
                self.batched.close()
            with self.profile.phase("batch_build_s"):
                self.batched = BatchedNetwork(self.plan, size, self.shm_dir, int(inputs["buffer_bytes"]), self.profile)
                for index, conn in enumerate(self.plan.connections):  # the weights as they are now
                    if self.loaded[conn.name] is not conn.weights:
                        self.batched.set_weights(index, conn.name, self.loaded[conn.name])
            self.profile.count("batch_lava_processes", len(self.batched.procs) + len(self.batched.connections))
            self.profile.count("batch_size", size)
        batched, steps, records = self.batched, int(inputs["steps"]), []
        for start in range(0, trials, batched.batch):
            part = slice(start, min(start + batched.batch, trials))
            records += batched.run(
                part.stop - part.start,
                steps,
                {name: value[part] for name, value in spikes.items()},
                {name: value[part] for name, value in currents.items()},
                self.profile,
            )
        return records

    def _run_arrays(
        self,
        steps: int,
        spikes: dict[str, np.ndarray],
        currents: dict[str, np.ndarray],
        modulators: dict[str, np.ndarray],
    ) -> dict[str, np.ndarray]:
        """Run ``steps`` steps in chunks of ``plan.chunk``: write a chunk's inputs, run it, read its records."""
        out = self._empty_records(steps)
        snapshots: dict[str, list[np.ndarray]] = {c.name: [] for c in self.plan.connections if c.snapshot_every}
        for start in range(0, steps, self.plan.chunk):
            chunk = slice(start, min(start + self.plan.chunk, steps))
            with self.profile.phase("write_inputs_s"):
                self._write_inputs(chunk, spikes, currents)
                self._write_third_factors(modulators, chunk, steps)
            with self.profile.phase("lava_run_s"):
                self._run_chunk(chunk.stop - chunk.start)
            with self.profile.phase("read_records_s"):
                self._read_chunk_records(out, snapshots, chunk)
        with self.profile.phase("read_records_s"):
            self._read_final_records(out, snapshots)
        return out

    def _empty_records(self, steps: int) -> dict[str, np.ndarray]:
        """The reply's spike and potential arrays for ``steps`` steps; spike counts restart from zero."""
        out: dict[str, np.ndarray] = {}
        for neuron in self.plan.neurons:
            if "spikes" in neuron.record:
                out[f"{neuron.name}.spikes"] = np.zeros((steps, neuron.size), dtype=bool)
            if "v" in neuron.record:
                dtype = self.buffers[record_key("v", neuron.name)].dtype
                out[f"{neuron.name}.v"] = np.zeros((steps, neuron.size), dtype=dtype)
            if "count" in neuron.record:
                self.buffers[record_key("count", neuron.name)][:] = 0
        return out

    def _write_inputs(self, chunk: slice, spikes: dict[str, np.ndarray], currents: dict[str, np.ndarray]) -> None:
        """One chunk of spike inputs and external currents into their buffers."""
        length = chunk.stop - chunk.start
        for src in self.plan.sources:
            self.buffers[input_key(src.name)][:length] = spikes[src.name][chunk]
        for neuron in self.plan.neurons:
            if neuron.has_current:
                self.buffers[current_key(neuron.name)][:length] = currents[neuron.name][chunk]

    def _run_chunk(self, length: int) -> None:
        """Tell the models where the chunk starts, then run it.

        The fused network runs the whole chunk in one Lava step (its model steps the graph ``length``
        times, :class:`~._lava.fused.models.PyFusedNetworkModel`): one round of the runtime's messages
        per chunk instead of per step. ``lava_t`` counts the network's steps either way.
        """
        from lava.magma.core.run_conditions import RunSteps

        self._ensure_started()
        ctrl = self.buffers[CTRL]
        ctrl[CTRL_BASE] = self.lava_t
        ctrl[CTRL_LENGTH] = length
        lava_steps = 1 if self.fused is not None else length
        for anchor in self.anchor:
            anchor.run(condition=RunSteps(num_steps=lava_steps))
        self.lava_t += length
        self.profile.count("lava_runs", len(self.anchor))
        self.profile.count("lava_steps", lava_steps)

    def _read_chunk_records(
        self, out: dict[str, np.ndarray], snapshots: dict[str, list[np.ndarray]], chunk: slice
    ) -> None:
        """The chunk's spike and potential rows and weight snapshots."""
        length = chunk.stop - chunk.start
        for neuron in self.plan.neurons:
            for variable in ("spikes", "v"):
                if variable in neuron.record:
                    out[f"{neuron.name}.{variable}"][chunk] = self.buffers[record_key(variable, neuron.name)][:length]
        for name, chunks in snapshots.items():
            every = self.plan.connection(name).snapshot_every
            assert every is not None
            chunks.append(np.array(self.buffers[snapshot_key(name)][: length // every]))

    def _read_final_records(self, out: dict[str, np.ndarray], snapshots: dict[str, list[np.ndarray]]) -> None:
        """Spike counts, learned weights and the joined snapshots at the end of a run."""
        for neuron in self.plan.neurons:
            if "count" in neuron.record:
                out[f"{neuron.name}.count"] = np.array(self.buffers[record_key("count", neuron.name)])
        for conn in self.plan.connections:
            if conn.kind == "learning":
                out[f"{conn.name}.learned"] = np.array(self.buffers[weights_out_key(conn.name)])
        for name, chunks in snapshots.items():
            shape = self.plan.connection(name).weights.shape
            out[f"{name}.snapshots"] = np.concatenate(chunks) if chunks else np.zeros((0, *shape))

    def _write_third_factors(self, modulators: dict[str, np.ndarray], chunk: slice, steps: int) -> None:
        """The ``ModulatorSource`` rows of one chunk (:func:`._plan.third_factor_inputs`) for every modulated rule."""
        length = chunk.stop - chunk.start
        for conn in self.plan.connections:
            if conn.name not in self.modulators:
                continue
            assert conn.rule is not None and conn.rule.modulator is not None
            values = np.broadcast_to(modulators[conn.rule.modulator][chunk], (length, conn.weights.shape[0]))
            flush = steps - 1 - chunk.start if conn.rule.accumulate and chunk.stop == steps else None
            inputs = third_factor_inputs(conn.rule, values, self.rng, flush)
            self.buffers[modulator_key(conn.name)][:length] = np.stack(inputs, axis=1)

    def reset(self, weights: dict[str, np.ndarray] | None) -> None:
        with self.profile.phase("reset_s"):
            self._reset(weights)

    def _reset(self, weights: dict[str, np.ndarray] | None) -> None:
        ctrl = self.buffers[CTRL]
        ctrl[CTRL_RESEED] = int(weights is not None)
        ctrl[CTRL_RESET] += 1
        if weights is not None:
            self.rng = np.random.default_rng([self.plan.seed, 0])
        for name, value in (weights or {}).items():
            self.set_weights(name, value)

    def set_weights(self, name: str, weights: np.ndarray) -> None:
        index = next(i for i, conn in enumerate(self.plan.connections) if conn.name == name)
        self.buffers[weights_in_key(name)][:] = weights
        self.loaded[name] = np.array(weights)
        if weights_out_key(name) in self.buffers:
            self.buffers[weights_out_key(name)][:] = weights
        self.buffers[WEIGHT_GENERATIONS][index] += 1
        if self.batched is not None:
            self.batched.set_weights(index, name, weights)

    def close(self) -> None:
        """Stop the runtimes that were started (Lava 0.10's ``stop`` of a runtime that never ran waits
        forever: one that started but never ran runs one step first); one never started has no process."""
        try:
            if self.batched is not None:
                self.batched.close()
        finally:
            if self.started:
                if self.lava_t == 0:
                    self._run_chunk(1)
                for anchor in self.anchor:
                    anchor.stop()


def _learning_rule(rule: RulePlan) -> Any:
    """Lava's ``Loihi2FLearningRule`` (or ``Loihi3FLearningRule``, pre traces only) for a rule's plan (t_epoch = 1)."""
    from lava.magma.core.learning.learning_rule import Loihi2FLearningRule, Loihi3FLearningRule

    kwargs = {f"{trace}_impulse": value for trace, value in rule.impulses.items()}
    kwargs.update({f"{trace}_tau": value for trace, value in rule.taus.items()})
    rule_cls = Loihi3FLearningRule if rule.three_factor else Loihi2FLearningRule
    if rule.three_factor:
        kwargs = {k: v for k, v in kwargs.items() if k.startswith("x")}
    return rule_cls(dw=rule.dw, dt=rule.dt, t_epoch=1, rng_seed=rule.rng_seed, **kwargs)


def _connect_third_factor(source: Any, learning: Any) -> None:
    """``y1, y2, y3`` of a ``ModulatorSource`` or ``SubspaceResidual`` into the learning synapses' third factor."""
    source.y1.connect(learning.s_in_y1)
    source.y2.connect(learning.s_in_y2)
    source.y3.connect(learning.s_in_y3)


def trial_arrays(named: dict[str, np.ndarray], trials: int) -> dict[str, np.ndarray]:
    """A ``run_batch`` request's arrays with ``trials`` on their leading axis: one of length 1 is the same
    in every trial (the caller sent it once), broadcast without a copy."""
    return {name: np.broadcast_to(value, (trials, *value.shape[1:])) for name, value in named.items()}


def _load_inputs(inputs: dict[str, Any]) -> tuple[dict[str, np.ndarray], ...]:
    """Memory-map the spike, current and modulator files of a run request."""
    return tuple(
        {name: np.load(path, mmap_mode="r") for name, path in inputs[kind].items()}
        for kind in ("spikes", "currents", "modulators")
    )


WATCH_S = 0.2
"""How often the lifeline checks that the caller is alive."""


class Lifeline:
    """Ends the worker and its Lava processes when the caller is gone or a signal says stop.

    A daemon thread polls the parent process id (a caller killed by any signal, SIGKILL included,
    leaves the worker re-parented); SIGTERM, SIGINT and SIGHUP are handled alike. Either way
    :meth:`abort` kills every other process of the worker's group except Lava's resource tracker
    (which then unlinks Lava's shared memory and exits), removes the shared directory and exits at
    once, without waiting for a main thread that may be deep inside a Lava run.
    """

    def __init__(self, caller_pid: int, shm_dir: str) -> None:
        self.caller_pid = caller_pid
        self.shm_dir = shm_dir
        self._lock = threading.Lock()

    def start(self) -> None:
        """Install the signal handlers and start watching the caller."""
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, lambda signum, frame: self.abort(f"signal {signum}"))
        threading.Thread(target=self._watch, name="spikemem-lifeline", daemon=True).start()

    def caller_alive(self) -> bool:
        """Whether the process that started this worker is still its parent."""
        return os.getppid() == self.caller_pid

    def _watch(self) -> None:
        while self.caller_alive():
            threading.Event().wait(WATCH_S)
        self.abort("the caller exited")

    def abort(self, reason: str) -> None:
        """Kill the group's Lava processes, remove the shared directory and exit (status 1)."""
        if not self._lock.acquire(blocking=False):
            return  # another thread is already ending the worker
        end_group_except_tracker()
        shutil.rmtree(self.shm_dir, ignore_errors=True)
        print(f"spikemem Lava worker: stopped ({reason})", file=sys.stderr, flush=True)
        os._exit(1)


def end_group_except_tracker() -> None:
    """SIGKILL every other live process of this worker's group but Lava's resource tracker.

    The tracker unlinks the shared-memory segments Lava registered with it once every process
    holding its pipe (the worker and the Lava processes) is gone, then exits.
    """
    for pid, command in group_members(os.getpgid(0)) or []:
        if pid != os.getpid() and "resource_tracker" not in command:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


class CallerGone(Exception):
    """A reply could not be sent: the caller closed its end of the pipe."""


def clear_directory(shm_dir: str) -> None:
    """Remove a released network's buffers, input files and error reports; keep the owners and the log."""
    for entry in os.scandir(shm_dir):
        if entry.name in (OWNERS_FILE, LOG_FILE):
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            os.remove(entry.path)


def _reply(conn_out: Connection, message: tuple[str, Any]) -> None:
    try:
        conn_out.send(message)
    except OSError as exc:  # BrokenPipeError, ConnectionResetError: nobody is listening any more
        raise CallerGone(str(exc)) from None


def serve(conn_in: Connection, conn_out: Connection, shm_dir: str) -> LavaNetwork | None:
    """Answer requests until ``close``; return the network if the caller went away without closing it."""
    holder: list[LavaNetwork | None] = [None]
    try:
        _serve(conn_in, conn_out, shm_dir, holder)
    except CallerGone:
        return holder[0]
    return None


def _serve(conn_in: Connection, conn_out: Connection, shm_dir: str, holder: list[LavaNetwork | None]) -> None:
    """The request loop of :func:`serve`; ``holder[0]`` is the network once built. Returns after ``close``."""
    while True:
        try:
            request = conn_in.recv()
        except EOFError:
            raise CallerGone("the caller closed the request pipe") from None
        command, *args = request
        network = holder[0]
        start = time.perf_counter()
        try:
            if command == "build":
                profile = Profile()
                with profile.phase("build_s"):
                    network = holder[0] = LavaNetwork(args[0], shm_dir, profile)
                reply: Any = None
            elif command == "release":
                if network is not None:
                    network.close()
                holder[0] = network = None
                clear_directory(shm_dir)
                reply = None
            elif command == "close":
                if network is not None:
                    network.close()
                holder[0] = None
                _reply(conn_out, ("ok", None))
                return
            elif network is None:
                raise RuntimeError(f"{command!r} before 'build'")
            elif command == "run":
                reply = network.run(args[0])
            elif command == "run_batch":
                reply = network.run_batch(args[0])
            elif command == "reset":
                network.reset(args[0])
                reply = None
            elif command == "set_weights":
                network._pending_reset({"resets": args[2] if len(args) > 2 else ()})
                network.set_weights(args[0], args[1])
                reply = None
            elif command == "profile":
                reply = network.profile.take()
            else:
                raise ValueError(f"unknown request {command!r}")
        except Exception:
            _reply(conn_out, ("error", traceback.format_exc()))
            continue
        if network is not None and command != "profile":
            network.profile.seconds[f"request.{command}_s"] = (
                network.profile.seconds.get(f"request.{command}_s", 0.0) + time.perf_counter() - start
            )
            network.profile.count("requests")
        _reply(conn_out, ("ok", reply))


def main(argv: list[str]) -> None:
    """Serve the caller; on the way out, whatever the way, leave no Lava process behind."""
    fd_in, fd_out, shm_dir, caller_pid = int(argv[1]), int(argv[2]), argv[3], int(argv[4])
    lifeline = Lifeline(caller_pid, shm_dir)
    lifeline.start()
    try:
        orphaned = serve(Connection(fd_in, writable=False), Connection(fd_out, readable=False), shm_dir)
        if orphaned is not None:  # the caller went away: stop the runtime, but never wait forever for it
            stopper = threading.Thread(target=orphaned.close, daemon=True)
            stopper.start()
            stopper.join(10)
            shutil.rmtree(shm_dir, ignore_errors=True)  # nobody else will
    finally:
        end_group_except_tracker()
        sys.stdout.flush()
        os._exit(0)  # do not wait for Lava's helper threads


if __name__ == "__main__":
    main(sys.argv)
