"""The process that owns the Lava runtime of one simulation.

Started by :class:`~spikemem.backends.lava_backend._client.Worker` as
``python -m spikemem.backends.lava_backend._worker FD_IN FD_OUT SHM_DIR`` in a
session of its own: Lava forks one process per ProcessModel from here, never
from the caller (whose CUDA context, threads or locks would not survive a
fork), and the caller can end the worker and every Lava process with one
``killpg`` when something hangs.

Requests (pickled tuples on ``FD_IN``) and replies (``("ok", value)`` or
``("error", message)`` on ``FD_OUT``):

- ``("build", plan)``: create the Lava processes and buffers, start the runtime;
- ``("run", inputs)``: run one window in chunks; ``inputs`` names the ``.npy``
  files the caller wrote into the shared directory (no large pickles through
  the pipe, so a request never blocks on a worker that stopped reading);
  reply with the monitored data;
- ``("run_batch", inputs)``: the same with a leading trial axis on every
  input file; each trial starts from the reset state (one runtime, no restart);
  reply with one record per trial;
- ``("reset", weights)``: clear the dynamic state; ``weights``: name -> array to load;
- ``("set_weights", name, array)``;
- ``("close",)``: stop the runtime and exit.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
import traceback
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from ._client import group_members
from ._plan import Plan, third_factor_inputs


class LavaNetwork:
    """The Lava processes of a plan and the shared buffers around them."""

    def __init__(self, plan: Plan, shm_dir: str) -> None:
        from lava.magma.core.learning.constants import GradedSpikeCfg
        from lava.magma.core.learning.learning_rule import Loihi2FLearningRule, Loihi3FLearningRule
        from lava.magma.core.run_configs import Loihi2SimCfg
        from lava.proc.dense.process import DelayDense, Dense, LearningDense
        from lava.utils.weightutils import SignMode

        from ._lava import processes as lp

        self.plan = plan
        self.rng = np.random.default_rng([plan.seed, 0])  # fixed point: rounding of third-factor codes
        self.buffers = lp.SharedBuffers(shm_dir)
        self.lava_t = 0
        chunk = plan.chunk
        buf = self.buffers
        buf.create("ctrl", (lp.CTRL_SIZE,), np.int64)
        buf.create("wgen", (max(1, len(plan.connections)),), np.int64)
        self.procs: dict[str, Any] = {}
        for src in plan.sources:
            buf.create(f"in.{src.name}", (chunk, src.size), bool)
            key = f"in.{src.name}"
            self.procs[src.name] = lp.SpikeSource(shape=(src.size,), name=src.name, shm_dir=shm_dir, key=key)
        for neuron in plan.neurons:
            params = neuron.fixed if plan.numeric == "fixed" else neuron.float_params
            v_dtype = np.int64 if plan.numeric == "fixed" else np.float64
            if neuron.has_current:
                buf.create(f"cur.{neuron.name}", (chunk, neuron.size), v_dtype)
            if "spikes" in neuron.record:
                buf.create(f"rec.spikes.{neuron.name}", (chunk, neuron.size), bool)
            if "v" in neuron.record:
                buf.create(f"rec.v.{neuron.name}", (chunk, neuron.size), v_dtype)
            if "count" in neuron.record:
                buf.create(f"rec.count.{neuron.name}", (neuron.size,), np.int64)
            self.procs[neuron.name] = lp.SpecLIF(
                shape=(neuron.size,),
                v_init=neuron.v_init,
                name=neuron.name,
                shm_dir=shm_dir,
                params=params,
                record=neuron.record,
                has_current=neuron.has_current,
            )
        self.connections: dict[str, Any] = {}
        self.modulators: dict[str, str] = {}
        sign_modes = {"mixed": SignMode.MIXED, "excitatory": SignMode.EXCITATORY, "inhibitory": SignMode.INHIBITORY}
        for index, conn in enumerate(plan.connections):
            buf.create(f"win.{conn.name}", conn.weights.shape, conn.weights.dtype)
            common: dict[str, Any] = {"name": conn.name, "shm_dir": shm_dir, "index": index}
            if plan.numeric == "fixed":
                common.update(weight_exp=conn.exponent, num_weight_bits=8, sign_mode=sign_modes[conn.sign_mode])
            weights = conn.weights.copy()
            if conn.kind == "learning":
                rule = conn.rule
                assert rule is not None
                kwargs = {f"{trace}_impulse": value for trace, value in rule.impulses.items()}
                kwargs.update({f"{trace}_tau": value for trace, value in rule.taus.items()})
                rule_cls = Loihi3FLearningRule if rule.three_factor else Loihi2FLearningRule
                if rule.three_factor:
                    kwargs = {k: v for k, v in kwargs.items() if k.startswith("x")}
                learning_rule = rule_cls(dw=rule.dw, dt=rule.dt, t_epoch=1, rng_seed=rule.rng_seed, **kwargs)
                buf.create(f"wout.{conn.name}", conn.weights.shape, np.float64)
                if conn.snapshot_every:
                    rows = plan.chunk // conn.snapshot_every
                    buf.create(f"snap.{conn.name}", (rows, *conn.weights.shape), np.float64)
                learning_kwargs: dict[str, Any] = dict(
                    weights=weights,
                    tag_1=np.full(weights.shape, rule.tag_init),
                    learning_rule=learning_rule,
                    w_min=conn.w_min,
                    w_max=conn.w_max,
                    mask=conn.mask,
                    snapshot_every=conn.snapshot_every,
                    tag_init=rule.tag_init,
                    **common,
                )
                post = self.procs[conn.post]
                if rule.graded:
                    proc = lp.ProjectedLearningDense(
                        num_message_bits=24, graded_spike_cfg=GradedSpikeCfg.OVERWRITE, **learning_kwargs
                    )
                    self._wire_circuit(conn, proc, shm_dir)
                else:
                    proc = LearningDense(**learning_kwargs)
                post.s_out.connect(proc.s_in_bap)
                if rule.modulator is not None:
                    key = f"mod.{conn.name}"
                    buf.create(key, (chunk, 3, conn.weights.shape[0]), np.float64)
                    source = lp.ModulatorSource(
                        shape=(conn.weights.shape[0],), name=f"{conn.name}.modulator", shm_dir=shm_dir, key=key
                    )
                    source.y1.connect(proc.s_in_y1)
                    source.y2.connect(proc.s_in_y2)
                    source.y3.connect(proc.s_in_y3)
                    self.modulators[conn.name] = key
            elif conn.kind == "delay":
                proc = DelayDense(weights=weights, delays=int(conn.delay - 1), **common)
            else:
                proc = Dense(weights=weights, **common)
            if conn.rule is None or not conn.rule.graded:
                self.procs[conn.pre].s_out.connect(proc.s_in)
            proc.a_out.connect(self.procs[conn.post].a_in)
            self.connections[conn.name] = proc
        tag = "fixed_pt" if plan.numeric == "fixed" else "floating_pt"
        self.run_cfg = Loihi2SimCfg(select_tag=tag, exception_proc_model_map=lp.MODELS[tag])
        self.anchor = self._connect_components()
        for anchor in self.anchor:  # compile and start the Lava processes now, not in the first run
            anchor.create_runtime(run_cfg=self.run_cfg)

    def _wire_circuit(self, conn: Any, proc: Any, shm_dir: str) -> None:
        """The circuit that computes a graded pre trace for ``proc`` (see ``_plan``), wired in the same step."""
        from ._lava import processes as lp

        rule = conn.rule
        pre, post = self.procs[conn.pre], self.procs[conn.post]
        pre.s_out.connect(proc.s_fwd)
        name = f"{conn.name}.{rule.circuit}"
        index = self.plan.connections.index(conn)
        # fixed point: the codes' rounding is seeded per connection; mantissas -> float with the unit
        coding = {"plan": rule, "seed": [self.plan.seed, 1, index], "unit": conn.unit}
        common = {"name": name, "shm_dir": shm_dir, "rule": rule.source, "dt": self.plan.dt, **coding}
        if rule.circuit == "projected":
            circuit = lp.ProjectedTrace(size=conn.weights.shape[1], **common)
        else:
            circuit = lp.SubspaceResidual(shape=conn.weights.shape, **common)
            proc.w_out.connect(circuit.w_in)
            post.s_out.connect(circuit.s_post)
            circuit.y1.connect(proc.s_in_y1)
            circuit.y2.connect(proc.s_in_y2)
            circuit.y3.connect(proc.s_in_y3)
        pre.s_out.connect(circuit.s_in)
        circuit.x_out.connect(proc.s_in)

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
        """Run ``inputs["steps"]`` steps on the input files ``inputs[kind][name]`` (see ``save_inputs``)."""
        spikes, currents, modulators = _load_inputs(inputs)
        return self._run_arrays(int(inputs["steps"]), spikes, currents, modulators)

    def run_batch(self, inputs: dict[str, Any]) -> list[dict[str, np.ndarray]]:
        """Run ``inputs["trials"]`` independent trials in this runtime, resetting the state before each.

        The input files hold one leading trial axis; the reply is one record per trial.
        """
        spikes, currents, modulators = _load_inputs(inputs)
        records = []
        for trial in range(int(inputs["trials"])):
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

    def _run_arrays(
        self,
        steps: int,
        spikes: dict[str, np.ndarray],
        currents: dict[str, np.ndarray],
        modulators: dict[str, np.ndarray],
    ) -> dict[str, np.ndarray]:
        from lava.magma.core.run_conditions import RunSteps

        from ._lava import processes as lp

        plan, buf = self.plan, self.buffers
        out: dict[str, np.ndarray] = {}
        for neuron in plan.neurons:
            if "spikes" in neuron.record:
                out[f"{neuron.name}.spikes"] = np.zeros((steps, neuron.size), dtype=bool)
            if "v" in neuron.record:
                out[f"{neuron.name}.v"] = np.zeros((steps, neuron.size), dtype=buf[f"rec.v.{neuron.name}"].dtype)
            if "count" in neuron.record:
                buf[f"rec.count.{neuron.name}"][:] = 0
        snapshots: dict[str, list[np.ndarray]] = {c.name: [] for c in plan.connections if c.snapshot_every}
        ctrl = buf["ctrl"]
        for start in range(0, steps, plan.chunk):
            length = min(plan.chunk, steps - start)
            for src in plan.sources:
                buf[f"in.{src.name}"][:length] = spikes[src.name][start : start + length]
            for neuron in plan.neurons:
                if neuron.has_current:
                    buf[f"cur.{neuron.name}"][:length] = currents[neuron.name][start : start + length]
            for conn in plan.connections:
                if conn.name in self.modulators:
                    assert conn.rule is not None and conn.rule.modulator is not None
                    values = modulators[conn.rule.modulator][start : start + length]
                    values = np.broadcast_to(values, (length, conn.weights.shape[0]))
                    flush = steps - 1 - start if conn.rule.accumulate and start + length == steps else None
                    inputs = third_factor_inputs(conn.rule, values, self.rng, flush)
                    buf[self.modulators[conn.name]][:length] = np.stack(inputs, axis=1)
            ctrl[lp.CTRL_BASE] = self.lava_t
            ctrl[lp.CTRL_LENGTH] = length
            for anchor in self.anchor:
                anchor.run(condition=RunSteps(num_steps=length))
            self.lava_t += length
            for neuron in plan.neurons:
                if "spikes" in neuron.record:
                    out[f"{neuron.name}.spikes"][start : start + length] = buf[f"rec.spikes.{neuron.name}"][:length]
                if "v" in neuron.record:
                    out[f"{neuron.name}.v"][start : start + length] = buf[f"rec.v.{neuron.name}"][:length]
            for name, chunks in snapshots.items():
                every = plan.connection(name).snapshot_every
                assert every is not None
                chunks.append(np.array(buf[f"snap.{name}"][: length // every]))
        for neuron in plan.neurons:
            if "count" in neuron.record:
                out[f"{neuron.name}.count"] = np.array(buf[f"rec.count.{neuron.name}"])
        for conn in plan.connections:
            if conn.kind == "learning":
                out[f"{conn.name}.learned"] = np.array(buf[f"wout.{conn.name}"])
        for name, chunks in snapshots.items():
            shape = plan.connection(name).weights.shape
            out[f"{name}.snapshots"] = np.concatenate(chunks) if chunks else np.zeros((0, *shape))
        return out

    def reset(self, weights: dict[str, np.ndarray] | None) -> None:
        from ._lava import processes as lp

        self.buffers["ctrl"][lp.CTRL_RESEED] = int(weights is not None)
        self.buffers["ctrl"][lp.CTRL_RESET] += 1
        if weights is not None:
            self.rng = np.random.default_rng([self.plan.seed, 0])
        for name, value in (weights or {}).items():
            self.set_weights(name, value)

    def set_weights(self, name: str, weights: np.ndarray) -> None:
        index = next(i for i, conn in enumerate(self.plan.connections) if conn.name == name)
        self.buffers[f"win.{name}"][:] = weights
        if f"wout.{name}" in self.buffers:
            self.buffers[f"wout.{name}"][:] = weights
        self.buffers["wgen"][index] += 1

    def close(self) -> None:
        for anchor in self.anchor:
            anchor.stop()


def _load_inputs(inputs: dict[str, Any]) -> tuple[dict[str, np.ndarray], ...]:
    """Memory-map the spike, current and modulator files of a run request."""
    return tuple(
        {name: np.load(path, mmap_mode="r") for name, path in inputs[kind].items()}
        for kind in ("spikes", "currents", "modulators")
    )


def serve(conn_in: Connection, conn_out: Connection, shm_dir: str) -> LavaNetwork | None:
    """Answer requests until ``close``; return the network if the caller went away without closing it."""
    network: LavaNetwork | None = None
    while True:
        try:
            request = conn_in.recv()
        except EOFError:
            return network
        command, *args = request
        try:
            if command == "build":
                network = LavaNetwork(args[0], shm_dir)
                reply: Any = None
            elif command == "close":
                if network is not None:
                    network.close()
                conn_out.send(("ok", None))
                return None
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
                network.set_weights(args[0], args[1])
                reply = None
            else:
                raise ValueError(f"unknown request {command!r}")
            conn_out.send(("ok", reply))
        except Exception:
            conn_out.send(("error", traceback.format_exc()))


def main(argv: list[str]) -> None:
    """Serve the caller; on the way out leave no Lava process behind."""
    fd_in, fd_out, shm_dir = int(argv[1]), int(argv[2]), argv[3]
    orphaned = serve(Connection(fd_in, writable=False), Connection(fd_out, readable=False), shm_dir)
    if orphaned is not None:  # the caller died: stop the runtime, but never wait forever for it
        stopper = threading.Thread(target=orphaned.close, daemon=True)
        stopper.start()
        stopper.join(10)
        shutil.rmtree(shm_dir, ignore_errors=True)  # nobody else will
    for pid, command in group_members(os.getpgid(0)) or []:
        if pid != os.getpid() and "resource_tracker" not in command:  # the tracker unlinks Lava's shared memory
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    sys.stdout.flush()
    os._exit(0)  # do not wait for Lava's helper threads


if __name__ == "__main__":
    main(sys.argv)
