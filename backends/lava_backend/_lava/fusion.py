r"""A whole process graph as one Lava process: the graph's own ProcessModels, stepped inside one model.

Lava 0.10 runs every ProcessModel as an OS process and synchronises all of
them with its runtime service in every phase of every step; for a small
network that learns (8-10 processes: sources, populations, synapses, the
learning circuits) the synchronisation is most of a step's time, not the
arithmetic. :class:`FusedGraph` runs the *same* ProcessModel classes that the
per-process graph runs (Lava's ``Dense`` family and its learning engine, our
neuron, sources and circuits), built the way Lava's ``PyProcessBuilder``
builds them (model from ``proc_params``, Vars from their initial values in
the model's ``LavaPyType``), with in-memory ports in place of Lava's
channels, inside one process model
(:class:`~spikemem.backends.lava_backend._lava.fused.models.PyFusedNetworkModel`)
on Lava's runtime. So a step is one process's phases instead of 8-10
processes' messages, and every number is computed by the same code in the
same order:

- *spiking phase*: first every synapse model (Lava's ``Dense`` family sends
  its activation, and a learning one its weights, before it receives
  anything) runs up to its first receive, where its port stops it
  (:class:`~.buffers.PhaseInterrupt`, before the model has changed any
  state; what it did before, the reset and weight reload of ``_sync`` and
  the sends, gives the same result when it runs again). Then each
  sub-model's ``run_spk`` runs to its end, scheduled on demand: a ``recv``
  whose sender has not run yet in this step runs the sender first (Lava's
  blocking receive, without threads). Only a cycle of non-synapse models
  (which would deadlock Lava too) cannot be scheduled; it is refused at
  build (:meth:`GraphSpec.deadlock`);
- *ports*: a send stores the data in an array of the sending port's type
  (``array[:] = data``, Lava's channel buffer); a receive sums the senders
  into zeros of the receiving port's type, in the order the ports were
  connected (Lava's ``PyInPortVectorDense.recv``; Lava's own order comes
  from a ``set``, so a float input summed from several senders may differ
  in its last bit, as it does between two runs of the per-process graph);
- *learning phase*: ``run_lrn`` of every sub-model whose ``lrn_guard`` holds,
  after every spiking phase, as Lava's runtime service orders them (the
  fused model does it at the end of its own spiking phase: it is the only
  process of its runtime, so the order is the same and the runtime's
  learning-phase messages are saved);
- *time step*: every sub-model sees the network's step; the fused model runs a whole chunk of
  network steps in one Lava step (:meth:`~.fused.models.PyFusedNetworkModel._step`: nothing
  outside it acts between two steps of a chunk), so the runtime's messages come once per chunk.

Fixed point is bit-exact by construction: the stochastic rounding of Lava's
bit-approximate engine draws from generators owned by each learning model
(``TraceRandom``, ``ConnVarRandom``), which advance exactly as in their own
processes.

Lava imports (only inside the worker).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.process.process import AbstractProcess

from spikemem.backends.lava_backend._lava.buffers import PhaseInterrupt


@dataclass
class NodeSpec:
    """One process of the graph: what Lava's builder would build it from."""

    name: str
    model: type
    proc_params: Any
    variables: dict[str, tuple[tuple[int, ...], Any]]
    """Var name -> (shape, initial value)."""
    outputs: dict[str, tuple[int, ...]]
    """OutPort name -> shape."""
    inputs: dict[str, tuple[tuple[int, ...], list[tuple[int, str]]]]
    """InPort name -> (shape, senders as (node index, OutPort name) in connection order)."""
    learns: bool = False
    sends_first: bool = False
    """Whether its spiking phase sends every output before it receives (Lava's ``Dense`` family)."""


@dataclass
class GraphSpec:
    """The processes of a graph in a fixed order (the order they were created)."""

    nodes: list[NodeSpec] = field(default_factory=list)

    def order(self) -> list[int]:
        """The order the spiking phase runs the nodes in (after every synapse has sent): synapses, then the others."""
        first = [i for i, node in enumerate(self.nodes) if node.sends_first]
        return first + [i for i, node in enumerate(self.nodes) if not node.sends_first]

    def float_sums(self) -> list[str]:
        """The in-ports that sum several senders in floating point (``node.port``).

        Lava sums them in an order taken from a ``set`` (memory layout), the fused graph in connection
        order: the only place where the two can differ (in the last bit).
        """
        return [
            f"{node.name}.{port}"
            for node in self.nodes
            for port, (_, senders) in node.inputs.items()
            if len(senders) > 1 and np.issubdtype(np.dtype(_lava_type(node.model, port).d_type), np.floating)
        ]

    def deadlock(self) -> str | None:
        """Dry run of one spiking phase on the ports alone (``None``: it completes, else the cycle).

        Synapses have sent before the phase runs; every other node receives its inputs and then
        sends, so a cycle of non-synapse nodes cannot run (nor would it on Lava's runtime).
        """
        state = [0] * len(self.nodes)

        def run(index: int, path: list[str]) -> str | None:
            if state[index] == 2 or self.nodes[index].sends_first:
                return None
            if state[index] == 1:
                return " -> ".join([*path, self.nodes[index].name])
            state[index] = 1
            for _, senders in self.nodes[index].inputs.values():
                for sender, _ in senders:
                    cycle = run(sender, [*path, self.nodes[index].name])
                    if cycle:
                        return cycle
            state[index] = 2
            return None

        for index in self.order():
            cycle = run(index, [])
            if cycle:
                return cycle
        return None


def model_class(proc: AbstractProcess, tag: str, lava_models: dict[type, type]) -> type:
    """The ProcessModel class that runs ``proc`` under ``tag``.

    Lava's own Processes: our model from ``lava_models`` (the worker's
    ``exception_proc_model_map``); ours: the class in the ``models`` module
    next to the Process's module that implements it with that tag (where
    Lava's compiler finds it).
    """
    cls = type(proc)
    if cls in lava_models:
        return lava_models[cls]
    module = importlib.import_module(cls.__module__.rsplit(".", 1)[0] + ".models")
    for candidate in vars(module).values():
        if (
            isinstance(candidate, type)
            and getattr(candidate, "implements_process", None) is cls
            and tag in getattr(candidate, "tags", ())
        ):
            return candidate
    raise LookupError(f"no {tag} ProcessModel of {cls.__name__} in {module.__name__}")


def describe(procs: Iterable[AbstractProcess], tag: str, lava_models: dict[type, type]) -> GraphSpec:
    """The :class:`GraphSpec` of ``procs`` (every process of the graph, none left out), built in the caller.

    Raises
    ------
    ValueError
        When a port of ``procs`` connects to a process outside ``procs``, or a
        process has reference or Var ports (not fused).
    """
    procs = list(procs)
    index = {id(proc): i for i, proc in enumerate(procs)}
    graph = GraphSpec()
    for proc in procs:
        if list(proc.ref_ports) or list(proc.var_ports):
            raise ValueError(f"process {proc.name!r} has reference or Var ports, which are not fused")
        inputs: dict[str, tuple[tuple[int, ...], list[tuple[int, str]]]] = {}
        for port in proc.in_ports:
            senders = []
            for sender in port.in_connections:
                if id(sender.process) not in index:
                    raise ValueError(f"{proc.name}.{port.name} receives from outside the fused graph")
                senders.append((index[id(sender.process)], sender.name))
            inputs[port.name] = (tuple(port.shape), senders)
        model = model_class(proc, tag, lava_models)
        graph.nodes.append(
            NodeSpec(
                name=proc.name,
                model=model,
                proc_params=proc.proc_params,
                variables={var.name: (tuple(var.shape), var.init) for var in proc.vars},
                outputs={port.name: tuple(port.shape) for port in proc.out_ports},
                inputs=inputs,
                learns=proc.proc_params.get("learning_rule") is not None,
                sends_first="a_out" in {port.name for port in proc.out_ports},
            )
        )
    return graph


class GraphDeadlock(RuntimeError):
    """A receive whose sender waits for the receiver (Lava's runtime would hang on it)."""


class OutWire:
    """An OutPort: ``send`` stores the data in an array of the port's type (Lava's channel buffer)."""

    def __init__(self, shape: tuple[int, ...], dtype: Any) -> None:
        self.shape = shape
        self.dtype = dtype
        self.data: np.ndarray | None = None

    def send(self, data: np.ndarray) -> None:
        if data.shape != self.shape:
            raise AssertionError(f"{data.shape=} {self.shape=} Mismatch")  # Lava's channel check
        buffer = np.empty(self.shape, self.dtype)
        buffer[:] = data[:]
        self.data = buffer


class InWire:
    """An InPort: ``recv`` sums its senders' data into zeros of the port's type, running a sender not yet run."""

    def __init__(
        self, graph: FusedGraph, shape: tuple[int, ...], dtype: Any, senders: list[tuple[int, OutWire]]
    ) -> None:
        self.graph = graph
        self.shape = shape
        self.dtype = dtype
        self.senders = senders

    def recv(self) -> np.ndarray:
        if self.graph.sending:
            raise PhaseInterrupt
        total = np.zeros(self.shape, self.dtype)
        for node, wire in self.senders:
            if wire.data is None:
                self.graph.run_node(node)
                if wire.data is None:
                    raise GraphDeadlock(f"{self.graph.names[node]} sends nothing before it receives")
            total = total + wire.data
        return total

    peek = recv


def _lava_type(model: type, name: str) -> Any:
    lava_type = getattr(model, name, None)
    if lava_type is None or not hasattr(lava_type, "d_type"):
        raise LookupError(f"{model.__name__} declares no LavaPyType for {name!r}")
    return lava_type


def build_model(spec: NodeSpec) -> Any:
    """The ProcessModel of one node, built as Lava's ``PyProcessBuilder.build`` builds it (ports added later)."""
    model = spec.model(spec.proc_params)
    for name, (shape, init) in spec.variables.items():
        lava_type = _lava_type(spec.model, name)
        if issubclass(lava_type.cls, np.ndarray):
            value: Any = lava_type.cls(shape, lava_type.d_type)
            value[:] = init
        elif issubclass(lava_type.cls, (int, float, str)):
            value = init
        else:
            raise NotImplementedError(f"{spec.name}.{name}: Var type {lava_type.cls} is not fused")
        setattr(model, name, value)
        setattr(model, f"_{name}_p", lava_type.precision)
    return model


class FusedGraph:
    """The sub-models of a :class:`GraphSpec` and their ports, stepped as Lava's runtime steps them."""

    def __init__(self, graph: GraphSpec) -> None:
        self.names = [node.name for node in graph.nodes]
        self.models = [build_model(node) for node in graph.nodes]
        self.wires: list[OutWire] = []
        outputs: list[dict[str, OutWire]] = []
        for node, model in zip(graph.nodes, self.models, strict=True):
            ports = {}
            for name, shape in node.outputs.items():
                lava_type = _lava_type(node.model, name)
                assert issubclass(lava_type.cls, PyOutPort), f"{node.name}.{name} is not an OutPort"
                ports[name] = OutWire(shape, lava_type.d_type)
                setattr(model, name, ports[name])
                self.wires.append(ports[name])
            outputs.append(ports)
        for node, model in zip(graph.nodes, self.models, strict=True):
            for name, (shape, senders) in node.inputs.items():
                lava_type = _lava_type(node.model, name)
                assert issubclass(lava_type.cls, PyInPort), f"{node.name}.{name} is not an InPort"
                wired = [(sender, outputs[sender][port]) for sender, port in senders]
                setattr(model, name, InWire(self, shape, lava_type.d_type, wired))
        self.learners = [model for node, model in zip(graph.nodes, self.models, strict=True) if node.learns]
        self._order = graph.order()
        self._senders = [i for i, node in enumerate(graph.nodes) if node.sends_first]
        self.sending = False
        """True while the synapses run up to their first receive (which then stops them)."""
        self._state = [0] * len(self.models)  # 0: not run in this step, 1: running, 2: done

    def run_node(self, node: int) -> None:
        """Run one sub-model's spiking phase if it has not run in this step."""
        if self._state[node] == 2:
            return
        if self._state[node] == 1:
            raise GraphDeadlock(f"{self.names[node]} waits for data that it sends later in the same step")
        self._state[node] = 1
        self.models[node].run_spk()
        self._state[node] = 2

    def run_spk(self, time_step: int) -> None:
        """The spiking phase: every synapse up to its first receive, then every sub-model to its end."""
        for wire in self.wires:
            wire.data = None
        self._state = [0] * len(self.models)
        for model in self.models:
            model.time_step = time_step
        self.sending = True
        try:
            for node in self._senders:
                try:
                    self.models[node].run_spk()
                except PhaseInterrupt:
                    continue
                self._state[node] = 2  # it receives nothing: done
        finally:
            self.sending = False
        for node in self._order:
            self.run_node(node)

    def run_lrn(self) -> None:
        """The learning phase of every sub-model whose guard holds (after every spiking phase)."""
        for model in self.learners:
            if model.lrn_guard():
                model.run_lrn()
