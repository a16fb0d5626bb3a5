r"""NeuroBench's metrics on the snnTorch model of a trained spiking MLP: the cross-check of spikemem's counts.

NeuroBench (``neurobench`` 2.3.0, the extra ``spikemem[neurobench]``) measures
PyTorch modules only, so this module builds the snnTorch model of a
:class:`~spikemem.continual.trained.TrainedMLP` in the form NeuroBench reads,
runs ``neurobench.benchmarks.Benchmark`` on encoded samples and returns its
figures as plain dicts (:func:`neurobench_figures`). spikemem's own figures
for the same samples are those of the spec network
(:class:`~spikemem.continual.inference.InferenceSession`: ``Inference.cost``,
:func:`spikemem.cost.footprint`); :func:`side_by_side` puts both in a table
and :data:`RELATIONS` says how each pair is defined. (The module lives in
``spikemem.continual``, beside the torch-using training model: ``spikemem.cost``
imports no simulator.)

The model (:func:`snntorch_mlp`) is the training model of
:mod:`spikemem.continual.model`, layer-synchronous, one call per time step
(``SNNTorchModel`` feeds ``data[:, t]`` for ``t < T``):

.. math::

    v_l[t] &= \beta\, v_l[t-1] + W_l\, s_{l-1}[t], \quad s_0[t] = x[t] \\
    s_l[t] &= H(v_l[t] - v_{th}) \ \text{with the spec's reset} \\
    y[t] &= W_h\, s_L[t], \qquad z = \tfrac1T \textstyle\sum_t y[t] = W_h \bar s_L

with every :math:`W_l` and the stacked heads :math:`W_h` as ``torch.nn.Linear``
without bias (NeuroBench's *connection layers*) and every LIF layer as an
``snntorch.SpikingNeuron`` (its *activation layers*) whose step is the
spec's :func:`spikemem.dynamics.lif_step` (the step the snnTorch backend runs
wherever ``snntorch.Leaky`` is not exact, e.g. reset by subtraction). Its
spike counts within the T steps are those of the spec network of
:mod:`spikemem.continual.inference` within each layer's window, exactly
(float64, the default dtype).

NeuroBench's definitions (read from its source, ``neurobench/metrics/``, 2.3.0):

``Footprint`` (``static/footprint.py``)
    :math:`\sum_p \text{numel}(p)\,\text{itemsize}(p)` over
    ``net.parameters()`` plus the same over ``net.buffers()``: here the weights
    (``itemsize`` x weight count) plus each neuron layer's snnTorch constants
    (``threshold``, ``graded_spikes_factor``, ``reset_mechanism_val``, and
    ``beta``) and its membrane state ``mem``, which is empty before a run
    (static metrics run first); no traces, no spikes.
``ConnectionSparsity`` (``static/connection_sparsity.py``)
    zeros / entries over the weights of the ``Linear`` layers (biases
    excluded here: there are none), **rounded to 4 decimals**. It counts the
    input layer and the heads.
``ParameterCount`` (``static/parameter_count.py``)
    :math:`\sum_p \text{numel}(p)`: every weight of every layer and head.
``ActivationSparsity`` (``workload/activation_sparsity.py``)
    :math:`1 - \frac{\#\text{non-zero outputs}}{\#\text{outputs}}` over the
    outputs of every activation layer (the LIF layers, not the input, not the
    linear readout), every step and every sample; per batch, averaged with
    weights batch/dataset size (``manager/workload_manager.py``), which is the
    pooled fraction since every batch has the same T and layer sizes.
``SynapticOperations`` (``workload/synaptic_operations.py``, ``utils/layers/macs.py``)
    per call of each connection layer: the input and the weights are
    binarised (:math:`\neq 0 \to 1`) and the binary layer applied, so the
    count is :math:`\sum_{b,j} [x_{bj} \neq 0]\,\#\{i: W_{ij} \neq 0\}`
    (each non-zero input times its non-zero fan-out; biases are not counted).
    A call whose whole input tensor lies in :math:`\{-1, 0, 1\}` is *spiking*
    and adds to ``Effective_ACs``, any other to ``Effective_MACs``;
    ``Dense`` counts every input and weight as non-zero
    (:math:`B\, n_{in}\, n_{out}` per call). All three are divided by the
    number of samples. The input layer is a connection layer called once per
    step: with the direct encoding (a graded current, the same every step) it
    gives :math:`T \sum_j [x_j \neq 0]\, \text{fan-out}_j` MACs per sample,
    with rate spikes as many ACs as input spikes times fan-out.
``MembraneUpdates`` (``workload/membrane_updates.py``)
    per activation layer: all its neurons at the first step, then the
    neurons whose ``mem`` changed between the hook before and the hook after
    each later call, divided by the number of samples.

torch, snnTorch and NeuroBench are imported when a function here is called,
never at import; without the extra, :func:`require_neurobench` raises
:class:`NeuroBenchMissing` naming the install command.
"""

from __future__ import annotations

import functools
import importlib.metadata
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from spikemem.continual.inference import Inference, InferenceSession
from spikemem.continual.trained import DT, TrainedMLP
from spikemem.cost import Footprint, footprint
from spikemem.dynamics import LIFParams, lif_step
from spikemem.spec import LIF

if TYPE_CHECKING:
    import torch

INSTALL = 'pip install "spikemem[neurobench]"'
"""How to install the extra (from a checkout: ``pip install -e ".[neurobench]"``)."""

STATIC_METRICS = ("Footprint", "ConnectionSparsity", "ParameterCount")
"""NeuroBench's static metrics that :func:`neurobench_figures` runs (class names in ``neurobench.metrics.static``)."""
WORKLOAD_METRICS = ("ActivationSparsity", "SynapticOperations", "MembraneUpdates")
"""NeuroBench's workload metrics that :func:`neurobench_figures` runs (``neurobench.metrics.workload``)."""


class NeuroBenchMissing(ImportError):
    """The ``neurobench`` extra is not installed (the message names the install command)."""


def require_neurobench() -> str:
    """The installed NeuroBench version; :class:`NeuroBenchMissing` when it (or torch, snnTorch) cannot be imported."""
    try:
        import neurobench.benchmarks  # noqa: F401
        import snntorch  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        raise NeuroBenchMissing(
            f"NeuroBench is not installed ({exc}); it comes with the optional extra 'neurobench': {INSTALL}"
        ) from None
    return importlib.metadata.version("neurobench")


@functools.cache
def _classes() -> tuple[type, type]:
    """The torch module classes (built on first use, so that importing this module needs no torch)."""
    import snntorch
    import torch
    from torch import nn

    class SpecLIF(snntorch.SpikingNeuron):
        r"""A layer of spec LIF neurons as an ``snntorch.SpikingNeuron``: ``current -> (spikes, v)``.

        The step is :func:`spikemem.dynamics.lif_step` (refractoriness and either
        reset included); the state starts at :math:`v = 0` whenever the batch
        shape changes or :meth:`reset_mem` is called. ``mem`` holds :math:`v`
        (what NeuroBench's ``MembraneUpdates`` reads).
        """

        mem: torch.Tensor

        def __init__(self, neuron: LIF, dtype: torch.dtype) -> None:
            reset = "subtract" if neuron.reset == "subtract" else "zero"  # a label: lif_step does the reset
            super().__init__(threshold=float(neuron.v_th), surrogate_disable=True, reset_mechanism=reset)
            self.params = LIFParams.from_neuron(neuron, DT)
            self.register_buffer("beta", torch.tensor(self.params.beta, dtype=dtype))
            self.register_buffer("mem", torch.zeros(0, dtype=dtype), persistent=False)
            self.refractory = torch.zeros(0, dtype=torch.int64)

        def reset_mem(self) -> None:
            """Back to rest (an empty state: the next call starts every neuron at 0)."""
            self.mem = torch.zeros(0, dtype=self.mem.dtype, device=self.mem.device)

        def forward(self, current: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            if self.mem.shape != current.shape:
                self.mem = torch.zeros_like(current)
                self.refractory = torch.zeros(current.shape, dtype=torch.int64, device=current.device)
            spikes, v, refractory = lif_step(self.mem, self.refractory, current, self.params)
            self.mem, self.refractory = v, refractory
            return spikes.to(current.dtype), v

    class SnnTorchMLP(nn.Module):
        """The trained MLP as NeuroBench reads it (module docstring): ``x[t] -> (W_h s_L[t], s_L[t])``."""

        def __init__(self, model: TrainedMLP, dtype: torch.dtype) -> None:
            super().__init__()
            self.fc = nn.ModuleList(_linear(w, dtype) for w in model.layers)
            self._neurons = [SpecLIF(model.neuron, dtype) for _ in model.layers]
            self.lif = nn.ModuleList(self._neurons)  # registers them; _neurons keeps their type
            self.readout = _linear(np.vstack(model.heads), dtype)

        def reset(self) -> None:
            """Every layer back to rest (``SNNTorchModel`` calls it before each batch)."""
            for neuron in self._neurons:
                neuron.reset_mem()

        def release(self) -> None:
            """Drop snnTorch's global references to the neuron layers (``SpikingNeuron.instances``)."""
            mine = {id(neuron) for neuron in self._neurons}
            snntorch.SpikingNeuron.instances[:] = [n for n in snntorch.SpikingNeuron.instances if id(n) not in mine]

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            for fc, neuron in zip(self.fc, self.lif, strict=True):
                x, _ = neuron(fc(x))
            return self.readout(x), x

    def _linear(weights: np.ndarray, dtype: torch.dtype) -> nn.Linear:
        layer = nn.Linear(weights.shape[1], weights.shape[0], bias=False, dtype=dtype)
        layer.weight.data = torch.as_tensor(np.asarray(weights), dtype=dtype).clone()
        layer.weight.requires_grad_(False)  # inference only: NeuroBench runs without torch.no_grad
        return layer

    return SpecLIF, SnnTorchMLP


def snntorch_mlp(model: TrainedMLP, dtype: str = "float64") -> Any:
    """The snnTorch model of a trained MLP (module docstring), a ``torch.nn.Module``; call ``release()`` when done."""
    require_neurobench()
    import torch

    _, net_class = _classes()
    return net_class(model, getattr(torch, dtype))


def time_major_inputs(model: TrainedMLP, encoded: np.ndarray) -> np.ndarray:
    """NeuroBench's input layout ``(B, T, n)`` from ``TrainedMLP.encode``'s output.

    A direct encoding (``(B, n)`` currents) is the same current at each of the
    T steps; rate spikes (``(B, T, n)`` booleans) become 0/1 floats.
    """
    encoded = np.asarray(encoded)
    if encoded.ndim == 2:
        return np.repeat(encoded[:, None, :].astype(np.float64), model.steps, axis=1)
    if encoded.ndim != 3 or encoded.shape[1] != model.steps:
        raise ValueError(f"encoded inputs must be (B, n) currents or (B, {model.steps}, n) spikes, got {encoded.shape}")
    return encoded.astype(np.float64)


def neurobench_figures(
    model: TrainedMLP,
    encoded: np.ndarray,
    labels: Sequence[int] | np.ndarray | None = None,
    batch_size: int = 256,
    dtype: str = "float64",
) -> dict[str, Any]:
    """Run NeuroBench's static and workload metrics on the snnTorch model of ``model`` for ``encoded`` samples.

    Parameters
    ----------
    model
        A trained MLP (:class:`~spikemem.continual.trained.TrainedMLP`).
    encoded
        Encoded samples, ``(B, n)`` currents or ``(B, T, n)`` spikes (``TrainedMLP.encode``).
    labels
        Targets of the samples (NeuroBench's data tuple needs them; no metric here reads them).
    batch_size
        Samples per NeuroBench batch (the figures do not depend on it).
    dtype
        Of the weights and states: ``"float64"`` (default: the spec's spikes exactly) or ``"float32"``.

    Returns
    -------
    dict
        ``neurobench`` (its version), ``samples``, ``steps``, ``dtype``;
        ``static``: ``footprint`` (bytes) with its parts ``footprint_parameters``
        and ``footprint_buffers``, ``connection_sparsity``, ``parameter_count``;
        ``workload``: ``activation_sparsity``, ``synaptic_operations``
        (``effective_macs``, ``effective_acs``, ``dense``: per sample),
        ``membrane_updates`` (per sample); ``spike_counts``: per LIF layer the
        ``(B, n_l)`` spike counts of each sample over the T steps (``spikes_per_sample``: their mean total), and
        ``logits`` ``(B, classes of all heads)``, :math:`z = W_h \\bar s_L`
        (read by a recording metric during the same NeuroBench run).
    """
    version = require_neurobench()
    import torch
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics import static, workload
    from neurobench.metrics.abstract import AccumulatedMetric
    from neurobench.models import SNNTorchModel

    inputs = time_major_inputs(model, encoded)
    targets = np.zeros(len(inputs), dtype=np.int64) if labels is None else np.asarray(labels, dtype=np.int64)
    if len(targets) != len(inputs):
        raise ValueError(f"labels: {len(targets)} for {len(inputs)} samples")
    net = snntorch_mlp(model, dtype)
    sink: dict[str, list[Any]] = {"counts": [], "logits": []}

    class Recorder(AccumulatedMetric):
        """Per-sample spike counts of each activation layer and the time-averaged readout (not a NeuroBench figure)."""

        def __init__(self) -> None:
            super().__init__(requires_hooks=True)

        def reset(self) -> None:
            return None

        def compute(self) -> float:
            return 0.0

        def __call__(self, nb_model: Any, preds: torch.Tensor, data: Any) -> float:
            sink["logits"].append(preds.detach().cpu().numpy())
            sink["counts"].append(
                [torch.stack(h.activation_outputs).sum(dim=0).cpu().numpy() for h in nb_model.activation_hooks]
            )
            return 0.0

    dataset = torch.utils.data.TensorDataset(
        torch.as_tensor(inputs, dtype=getattr(torch, dtype)), torch.as_tensor(targets)
    )
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
    metrics = [
        [getattr(static, name) for name in STATIC_METRICS],
        [*(getattr(workload, name) for name in WORKLOAD_METRICS), Recorder],
    ]
    try:
        footprint_parameters = sum(p.numel() * p.element_size() for p in net.parameters())
        with torch.no_grad():
            benchmark = Benchmark(SNNTorchModel(net), loader, [], [lambda preds: preds.mean(dim=1)], metrics)
            footprint_buffers = sum(b.numel() * b.element_size() for b in net.buffers())  # before the run: mem empty
            results = benchmark.run(quiet=True)
            benchmark.workload_metric_manager.cleanup_hooks(benchmark.model)
    finally:
        net.release()
    synops = results["SynapticOperations"]
    layers = len(model.layers)
    return {
        "neurobench": version,
        "samples": len(inputs),
        "steps": int(model.steps),
        "dtype": dtype,
        "static": {
            "footprint": int(results["Footprint"]),
            "footprint_parameters": int(footprint_parameters),
            "footprint_buffers": int(footprint_buffers),
            "connection_sparsity": float(results["ConnectionSparsity"]),
            "parameter_count": int(results["ParameterCount"]),
        },
        "workload": {
            "activation_sparsity": float(results["ActivationSparsity"]),
            "synaptic_operations": {
                "effective_macs": float(synops["Effective_MACs"]),
                "effective_acs": float(synops["Effective_ACs"]),
                "dense": float(synops["Dense"]),
            },
            "membrane_updates": float(results["MembraneUpdates"]),
        },
        "spikes_per_sample": sum(int(c.sum()) for batch in sink["counts"] for c in batch) / len(inputs),
        "spike_counts": [
            np.concatenate([batch[i] for batch in sink["counts"]]).astype(np.int64) for i in range(layers)
        ],
        "logits": np.concatenate(sink["logits"]),
    }


RELATIONS = {
    "spikes": "NeuroBench: the T steps of the layer-synchronous model; spikemem: all S = T + L + o steps of the "
    "spec network (the same spikes in each layer's window, plus the spikes after it)",
    "activation_sparsity": "NeuroBench: LIF layers over T steps; spikemem: every population (the readout too) "
    "over S steps",
    "accumulate_ops": "both: spikes x non-zero fan-out; spikemem adds the spikes after the window that arrive within S",
    "multiply_accumulate_ops": "direct encoding: NeuroBench T x non-zero inputs x non-zero fan-out; spikemem non-zero "
    "drive elements x n_0 (equal when no input and no weight of layer 1 is 0); rate: 0 in both",
    "dense": "NeuroBench: T x sum n_in n_out; spikemem: S x the same (NeuroBench / T = spikemem / S)",
    "neuron_updates": "NeuroBench: potentials that changed (MembraneUpdates); spikemem: S x every neuron (readout too)",
    "parameters": "NeuroBench: every weight (zeros and the direct encoding's layer 1 too); spikemem: existing synapses "
    "of the spec's projections",
    "connection_sparsity": "NeuroBench: zeros / all weights incl. layer 1, rounded to 4 decimals; spikemem: over the "
    "spec's projections (without the direct encoding's layer 1)",
    "footprint": "NeuroBench: bytes of parameters (dtype) + snnTorch buffers; spikemem: float32 existing weights + "
    "4 bytes of state per neuron",
}
"""How each pair of figures in :func:`side_by_side` is defined (the module docstring gives NeuroBench's sources)."""


def side_by_side(nb: dict[str, Any], counts: dict[str, Any], footprint: dict[str, Any]) -> list[list[str]]:
    """Rows ``[figure, NeuroBench, spikemem]`` per sample for a table (:data:`RELATIONS`: how they differ).

    ``nb`` is :func:`neurobench_figures`'s dict; ``counts`` spikemem's counts
    per sample of the same samples (``OperationCounts.per_trial()``, or the
    ``counts`` of a ``cost`` section), ``footprint`` ``Footprint.as_dict()``.
    """
    total = counts["total"]
    static, work = nb["static"], nb["workload"]
    synops = work["synaptic_operations"]

    def num(value: float) -> str:
        return f"{value:,.6g}" if isinstance(value, float) and not float(value).is_integer() else f"{int(value):,}"

    rows = [
        ("spikes", nb["spikes_per_sample"], total["spikes"]),
        ("activation_sparsity", work["activation_sparsity"], total["activation_sparsity"]),
        ("accumulate_ops", synops["effective_acs"], total["accumulate_ops"]),
        ("multiply_accumulate_ops", synops["effective_macs"], total["multiply_accumulate_ops"]),
        ("dense", synops["dense"], total["dense_macs"]),
        ("neuron_updates", work["membrane_updates"], total["neuron_updates"]),
        ("parameters", static["parameter_count"], footprint["parameters"]),
        ("connection_sparsity", static["connection_sparsity"], footprint["connection_sparsity"]),
        ("footprint", static["footprint"], footprint["total_bytes"]),
    ]
    return [[name, num(a), num(b)] for name, a, b in rows]


def spikemem_figures(
    model: TrainedMLP, encoded: np.ndarray, backend: str = "snntorch", numeric: str = "float", **options: Any
) -> tuple[Inference, Footprint]:
    """spikemem's side for the same samples: the spec network on ``backend`` (its ``Inference.cost``) and footprint.

    The counts are those ``spikemem evaluate`` reports (:class:`~spikemem.continual.inference.InferenceSession`
    counts the direct encoding's drive as graded inputs of :math:`n_0` MACs each); the footprint is in float.
    """
    with InferenceSession(model, backend, numeric, options) as session:
        return session.run(encoded), footprint(session.network, "float")


__all__ = [
    "INSTALL",
    "RELATIONS",
    "STATIC_METRICS",
    "WORKLOAD_METRICS",
    "NeuroBenchMissing",
    "neurobench_figures",
    "require_neurobench",
    "side_by_side",
    "snntorch_mlp",
    "spikemem_figures",
    "time_major_inputs",
]
