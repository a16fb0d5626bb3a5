r"""Export the static part of a :class:`~spikemem.spec.Network` to NIR (the Neuromorphic Intermediate Representation).

Needs the optional ``nir`` package (``pip install spikemem[nir]``); it is
imported only when :func:`to_nir` or :func:`write_nir` is called.

Graph
-----
============================  ===================================================
spikemem                      NIR node (key)
============================  ===================================================
``Population`` (LIF)          ``nir.LIF`` (the population's name)
``Projection``                ``nir.Linear`` with ``weight = weights`` of shape
                              ``(n_post, n_pre)`` (the projection's name); edges
                              ``pre -> projection -> post``
``SpikeInput``,               ``nir.Input`` of shape ``(size,)`` (the input's name)
``PoissonInput``
``CurrentInput``              ``nir.Input`` of shape ``(size,)`` (the input's name)
                              with an edge straight into its population
population read by no         ``nir.Output`` (``"<name>.output"``) fed by the
projection of another         population's spikes; when that selects nothing (a
population, or monitored      closed loop without monitors) every population
                              gets one
``ModulatorInput``            not exported: it only feeds ``ThreeFactor`` plasticity,
                              which is itself not exported (see below)
``Monitor``                   not exported (NIR has no probes); it only selects
                              outputs
============================  ===================================================

Edges into one node are summed, as NIR specifies. A population that receives
nothing at all gets an ``nir.Input`` added by NIR's type inference
(``"input_<name>"``); a network without any spike or current input is refused
(a NIR graph needs an entry point). The data of the inputs (spike rasters, currents) are
run-time data and are not part of the graph; Poisson rates and seeds are kept
in the input node's metadata.

Neuron mapping
--------------
``nir.LIF`` is :math:`\tau \dot v = (v_{leak} - v) + R\,I`, spike when
:math:`v > v_{threshold}`, then :math:`v \leftarrow v_{reset}`. ``nir.CubaLIF``
adds a synaptic current with its own time constant that the spec does not
have (spikes add to ``v`` directly), so ``nir.LIF`` is the matching node.
NIR gives only the ODE; the consumers that run NIR in discrete time (snnTorch,
Norse, Sinabs, ...) integrate it with forward Euler at their step ``dt``:

.. math::

    v[t] = \Bigl(1 - \tfrac{dt}{\tau}\Bigr) v[t-1]
           + \tfrac{dt}{\tau} v_{leak} + \tfrac{dt}{\tau} R\, I[t].

Matching the spec's step :math:`v[t] = \beta v[t-1] + I[t]` with
:math:`\beta = e^{-dt/\tau_{mem}}` term by term gives, at the network's ``dt``:

.. math::

    \tau = \frac{dt}{1 - \beta}, \qquad R = \frac{\tau}{dt} = \frac{1}{1-\beta},
    \qquad v_{leak} = 0, \qquad v_{threshold} = v_{th}, \qquad v_{reset} = v_{reset}

(:math:`1-\beta` is computed as ``-expm1(-dt/tau_mem)``). The forward-Euler
step of the exported node then equals the spec's step up to float rounding;
note that ``tau`` is *not* ``tau_mem`` (it is slightly larger: for
``dt/tau_mem = 0.05``, ``tau = 1.025 tau_mem``). A consumer that integrates
the ODE exactly instead would need ``tau = tau_mem``, ``R = 1/(1-beta)``; the
original values are kept in the node's metadata (``tau_mem``, ``dt``,
``beta``) for such a consumer. Consumers that assume a fixed step (snnTorch's
``import_nir`` assumes ``dt = 1e-4`` s) see the decay
:math:`1 - 10^{-4}/\tau`, which equals :math:`\beta` only when the network's
``dt`` is ``1e-4`` s.

Timing: the spec delivers a spike emitted at step ``t`` at step ``t + delay``
(``delay >= 1``). NIR edges and ``nir.Linear`` are instantaneous; discrete-time
consumers usually pass a feed-forward chain within one step and give recurrent
edges a one-step delay, so a feed-forward network run there responds one step
earlier per layer than in spikemem. ``delay`` is recorded in the ``nir.Linear``
metadata (``delay_steps``).

What NIR cannot express
-----------------------
Refractoriness (``refractory_steps > 0``), reset by subtraction
(``reset="subtract"``), transmission delays above one step, plasticity (a
static graph: only the weights in the spec, i.e. the *initial* weights, would
be exported) and a non-zero initial potential ``v_init`` (NIR nodes have no
initial state). By default :func:`to_nir` refuses these with
:class:`~spikemem.spec.errors.UnsupportedFeatureError` naming the field. With
``lossy=True`` it exports anyway and records each loss: in the metadata of
the node concerned (``spikemem.lost``) and, as a summary, in the graph's
metadata (``spikemem.lost``). To export *learned* weights, copy them from the
simulation (``Simulation.get_weights``) into the projections and set
``plasticity=None``.

Metadata: every node carries ``metadata["spikemem"]``, a dictionary of the
spikemem values it came from (class, parameters, rule and its parameters,
mask, delay); ``None`` values are left out (HDF5 cannot store them). The
graph's ``metadata["spikemem"]`` holds ``format``, ``version``, ``network``,
``dt`` and ``discretisation = "forward-euler"``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from spikemem.spec.errors import UnsupportedFeatureError
from spikemem.spec.inputs import CurrentInput, ModulatorInput, PoissonInput, SpikeInput
from spikemem.spec.network import Network, Population, Projection
from spikemem.spec.neurons import LIF

if TYPE_CHECKING:
    import nir

FORMAT = "spikemem.nir"
VERSION = 1
INSTALL_HINT = "pip install spikemem[nir]"
RUNTIME_DATA_FIELDS = ("spikes", "values")
"""Input fields that are run-time data, not exported (they may be replaced per run)."""


def _import_nir() -> Any:
    try:
        import nir
    except ImportError as exc:
        raise ImportError(
            f"exporting to NIR needs the optional package 'nir' (and h5py); install it with `{INSTALL_HINT}` ({exc})"
        ) from exc
    return nir


def lif_parameters(neuron: LIF, dt: float, size: int) -> dict[str, np.ndarray]:
    r"""Parameters of the ``nir.LIF`` whose forward-Euler step at ``dt`` is ``neuron``'s canonical step.

    .. math::

        \tau = \frac{dt}{1-\beta},\quad R = \frac{\tau}{dt},\quad v_{leak} = 0,\quad
        v_{threshold} = v_{th},\quad v_{reset} = v_{reset}

    Returns
    -------
    dict
        ``tau``, ``r``, ``v_leak``, ``v_threshold``, ``v_reset``, each a
        float64 array of shape ``(size,)``.
    """
    one_minus_beta = -math.expm1(-float(dt) / float(neuron.tau_mem))
    tau = float(dt) / one_minus_beta
    values = {
        "tau": tau,
        "r": tau / float(dt),
        "v_leak": 0.0,
        "v_threshold": float(neuron.v_th),
        "v_reset": float(neuron.v_reset),
    }
    return {key: np.full(size, value, dtype=np.float64) for key, value in values.items()}


class _Losses:
    """Collects what NIR cannot express; refuses it unless ``lossy``."""

    def __init__(self, lossy: bool) -> None:
        self.lossy = lossy
        self.fields: list[str] = []

    def check(self, lost: list[str], field: str, condition: bool, problem: str) -> None:
        if not condition:
            return
        if not self.lossy:
            raise UnsupportedFeatureError(
                field, f"{problem}; pass lossy=True to export without it (recorded in the node's metadata)"
            )
        lost.append(field)
        self.fields.append(field)


def _plain(value: Any) -> Any:
    """A metadata value HDF5 can store: scalars, strings, arrays; dictionaries recursively; None dropped."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items() if item is not None}
    if isinstance(value, (list, tuple, np.ndarray, np.generic)):
        array = np.asarray(value)
        return array.item() if array.ndim == 0 else array  # h5py refuses compression on scalar datasets
    return value


def _node_key(key: str, field: str, taken: dict[str, Any]) -> str:
    if "/" in key or key in (".", ""):
        raise UnsupportedFeatureError(field, f"{key!r} cannot name a NIR node (HDF5 group); rename it without '/'")
    if key in taken:
        raise UnsupportedFeatureError(field, f"{key!r} is also the name of another NIR node; rename one of them")
    return key


def _population_node(nir: Any, pop: Population, dt: float, losses: _Losses) -> Any:
    field = f"populations[{pop.name!r}]"
    neuron = pop.neuron
    lost: list[str] = []
    losses.check(
        lost, f"{field}.neuron.refractory_steps", neuron.refractory_steps > 0, "NIR's LIF has no refractory period"
    )
    losses.check(
        lost,
        f"{field}.neuron.reset",
        neuron.reset == "subtract",
        "NIR's LIF resets to v_reset; reset by subtraction cannot be expressed",
    )
    v_init = np.asarray(pop.v_init)
    losses.check(lost, f"{field}.v_init", bool(np.any(v_init != 0)), "NIR nodes have no initial state (v starts at 0)")
    metadata = {
        "class": "Population",
        "neuron": type(neuron).__name__,
        **dataclasses.asdict(neuron),
        "dt": float(dt),
        "beta": neuron.beta(dt),
        "v_init": v_init,
        "lost": "; ".join(lost) or None,
    }
    if math.isinf(neuron.tau_mem):  # no leak: v += dt * R * I with R = 1 / dt
        size = pop.size
        return nir.IF(
            r=np.full(size, 1.0 / float(dt)),
            v_threshold=np.full(size, float(neuron.v_th)),
            v_reset=np.full(size, float(neuron.v_reset)),
            metadata={"spikemem": _plain(metadata)},
        )
    return nir.LIF(**lif_parameters(neuron, dt, pop.size), metadata={"spikemem": _plain(metadata)})


def _projection_node(nir: Any, proj: Projection, losses: _Losses) -> Any:
    field = f"projections[{proj.name!r}]"
    lost: list[str] = []
    losses.check(lost, f"{field}.delay", proj.delay > 1, f"NIR edges carry no transmission delay (delay={proj.delay})")
    losses.check(
        lost,
        f"{field}.plasticity",
        proj.plasticity is not None,
        "NIR describes static graphs and has no plasticity; to export learned weights, copy them into "
        "the projection and set plasticity=None",
    )
    weights = np.array(proj.weights)
    if not np.issubdtype(weights.dtype, np.floating):
        weights = weights.astype(np.float64)
    rule = proj.plasticity
    metadata = {
        "class": "Projection",
        "pre": proj.pre,
        "post": proj.post,
        "delay_steps": int(proj.delay),
        "mask": None if proj.mask is None else np.asarray(proj.mask, dtype=bool),
        "plasticity": None if rule is None else {"rule": rule.name, **dataclasses.asdict(rule)},
        "lost": "; ".join(lost) or None,
    }
    return nir.Linear(weight=weights, metadata={"spikemem": _plain(metadata)})


def _input_node(nir: Any, inp: SpikeInput | PoissonInput | CurrentInput, size: int) -> Any:
    metadata = {
        "class": type(inp).__name__,
        **{f.name: getattr(inp, f.name) for f in dataclasses.fields(inp) if f.name not in RUNTIME_DATA_FIELDS},
    }
    return nir.Input(input_type={"input": np.array([size])}, metadata={"spikemem": _plain(metadata)})


def _output_populations(network: Network) -> list[Population]:
    read = {proj.pre for proj in network.projections if proj.pre != proj.post}
    monitored = {monitor.target for monitor in network.monitors}
    chosen = [pop for pop in network.populations if pop.name not in read or pop.name in monitored]
    return chosen or list(network.populations)


def to_nir(network: Network, *, lossy: bool = False) -> nir.NIRGraph:
    """The static part of ``network`` as a ``nir.NIRGraph`` (mapping in the module docstring).

    Parameters
    ----------
    network
        The network; validated first.
    lossy
        Export features NIR cannot express (refractoriness, reset by
        subtraction, delays > 1, plasticity, non-zero ``v_init``) anyway,
        recording them in the metadata, instead of raising.

    Raises
    ------
    ImportError
        When ``nir`` is not installed (``pip install spikemem[nir]``).
    SpecError
        When the network is invalid.
    UnsupportedFeatureError
        For a feature NIR cannot express (unless ``lossy``), or a name that
        cannot name a NIR node.
    """
    nir = _import_nir()
    network.validate()
    dt = float(network.dt)
    losses = _Losses(lossy)
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []

    for inp in network.inputs:
        if isinstance(inp, ModulatorInput):
            continue
        size = network.population(inp.target).size if isinstance(inp, CurrentInput) else inp.size
        key = _node_key(inp.name, f"inputs[{inp.name!r}].name", nodes)
        nodes[key] = _input_node(nir, inp, size)
        if isinstance(inp, CurrentInput):
            edges.append((key, inp.target))
    if not nodes:
        raise UnsupportedFeatureError(
            "inputs",
            "a NIR graph needs an entry point but the network has no spike or current input; add one "
            "(a CurrentInput of zeros will do)",
        )
    for pop in network.populations:
        nodes[_node_key(pop.name, f"populations[{pop.name!r}].name", nodes)] = _population_node(nir, pop, dt, losses)
    for proj in network.projections:
        key = _node_key(proj.name, f"projections[{proj.name!r}].name", nodes)
        nodes[key] = _projection_node(nir, proj, losses)
        edges += [(proj.pre, key), (key, proj.post)]
    for pop in _output_populations(network):
        key = _node_key(f"{pop.name}.output", f"populations[{pop.name!r}].name", nodes)
        nodes[key] = nir.Output(output_type={"output": np.array([pop.size])})
        edges.append((pop.name, key))

    metadata = {
        "format": FORMAT,
        "version": VERSION,
        "network": network.name,
        "dt": dt,
        "discretisation": "forward-euler",
        "lost": "; ".join(losses.fields) or None,
    }
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"spikemem": _plain(metadata)})


def write_nir(network: Network, path: str | os.PathLike[str], *, lossy: bool = False) -> Path:
    """Write :func:`to_nir` ``(network)`` to the HDF5 file ``path`` (atomically: temp file, then rename).

    Read it back with ``nir.read(path)``. Returns the path written.
    """
    nir = _import_nir()
    graph = to_nir(network, lossy=lossy)
    target = Path(path)
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        nir.write(temp, graph)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return target
