"""Every invalid description gives a SpecError whose message starts with the offending field."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from spikemem.spec import (
    LIF,
    CurrentInput,
    ErrorModulated,
    Hebb,
    ModulatorInput,
    Monitor,
    Network,
    OjaSubspace,
    PoissonInput,
    Population,
    Projection,
    SpecError,
    SpikeInput,
    ThreeFactor,
    validate,
)

DT = 1e-3


def base() -> Network:
    """A small valid network using every kind of reference (pre, post, target, monitor, modulator)."""
    return Network(
        dt=DT,
        populations=[Population("exc", 4, LIF(tau_mem=0.02)), Population("inh", 2, LIF(tau_mem=0.01))],
        inputs=[
            SpikeInput("in", np.zeros((10, 3), dtype=bool)),
            PoissonInput("noise", size=4, rate_hz=50.0),
            CurrentInput("bias", "exc", np.full(4, 0.1)),
            ModulatorInput("reward", np.ones(10)),
        ],
        projections=[
            Projection("in", "exc", np.full((4, 3), 0.5)),
            Projection("noise", "exc", np.full((4, 4), 0.1)),
            Projection("exc", "inh", np.full((2, 4), 0.3), plasticity=ThreeFactor(eta=0.1, modulator="reward")),
            Projection("inh", "exc", np.full((4, 2), -0.3), plasticity=Hebb(eta=0.01)),
        ],
        monitors=[Monitor("exc"), Monitor("inh", "v"), Monitor("in", "count"), Monitor("exc->inh", "weights", every=2)],
    )


def test_base_network_is_valid():
    assert base().validate() is not None
    validate(base())


def _pop(net: Network, index: int, **changes: object) -> None:
    old = net.populations[index]
    fields = {"name": old.name, "size": old.size, "neuron": old.neuron, "v_init": old.v_init, **changes}
    net.populations[index] = Population(**fields)  # type: ignore[arg-type]


def _neuron(net: Network, index: int = 0, **changes: object) -> None:
    old = net.populations[index].neuron
    params = {
        "tau_mem": old.tau_mem,
        "v_th": old.v_th,
        "v_reset": old.v_reset,
        "reset": old.reset,
        "refractory_steps": old.refractory_steps,
        **changes,
    }
    _pop(net, index, neuron=LIF(**params))  # type: ignore[arg-type]


def _set(get: Callable[[Network], object], name: str, value: object) -> Callable[[Network], None]:
    return lambda net: setattr(get(net), name, value)


BAD: dict[str, tuple[Callable[[Network], None], str]] = {
    # shapes and values of weights
    "weight shape transposed": (
        _set(lambda n: n.projections[0], "weights", np.zeros((3, 4))),
        "projections['in->exc'].weights",
    ),
    "weight shape 1-d": (_set(lambda n: n.projections[0], "weights", np.zeros(12)), "projections['in->exc'].weights"),
    "NaN weight": (lambda n: n.projections[1].weights.__setitem__((0, 0), np.nan), "projections['noise->exc'].weights"),
    "inf weight": (lambda n: n.projections[2].weights.__setitem__((1, 2), -np.inf), "projections['exc->inh'].weights"),
    # time constants and time step
    "zero tau": (lambda n: _neuron(n, 0, tau_mem=0.0), "populations['exc'].neuron.tau_mem"),
    "negative tau": (lambda n: _neuron(n, 1, tau_mem=-0.01), "populations['inh'].neuron.tau_mem"),
    "NaN tau": (lambda n: _neuron(n, 0, tau_mem=float("nan")), "populations['exc'].neuron.tau_mem"),
    "zero dt": (_set(lambda n: n, "dt", 0.0), "dt"),
    "negative dt": (_set(lambda n: n, "dt", -1e-3), "dt"),
    "dt equal to tau": (_set(lambda n: n, "dt", 0.01), "populations['inh'].neuron.tau_mem"),
    "dt above tau": (_set(lambda n: n, "dt", 0.05), "populations['exc'].neuron.tau_mem"),
    "negative rule tau": (
        _set(lambda n: n.projections[3], "plasticity", Hebb(eta=0.1, tau_pre=-0.01)),
        "projections['inh->exc'].plasticity.tau_pre",
    ),
    # unknown names
    "unknown pre": (_set(lambda n: n.projections[0], "pre", "nowhere"), "projections['in->exc'].pre"),
    "unknown post": (_set(lambda n: n.projections[0], "post", "nowhere"), "projections['in->exc'].post"),
    "post is an input": (_set(lambda n: n.projections[0], "post", "noise"), "projections['in->exc'].post"),
    "pre is a modulator": (_set(lambda n: n.projections[0], "pre", "reward"), "projections['in->exc'].pre"),
    "unknown current target": (_set(lambda n: n.inputs[2], "target", "nowhere"), "inputs['bias'].target"),
    "unknown monitor target": (lambda n: n.monitors.append(Monitor("nowhere")), "monitors[4].target"),
    # delays
    "zero delay": (_set(lambda n: n.projections[0], "delay", 0), "projections['in->exc'].delay"),
    "negative delay": (_set(lambda n: n.projections[3], "delay", -2), "projections['inh->exc'].delay"),
    "float delay": (_set(lambda n: n.projections[3], "delay", 1.5), "projections['inh->exc'].delay"),
    # sizes
    "zero population size": (lambda n: _pop(n, 0, size=0), "populations['exc'].size"),
    "negative population size": (lambda n: _pop(n, 1, size=-2), "populations['inh'].size"),
    "zero Poisson size": (_set(lambda n: n.inputs[1], "size", 0), "inputs['noise'].size"),
    "negative Poisson size": (_set(lambda n: n.inputs[1], "size", -4), "inputs['noise'].size"),
    "zero spike channels": (_set(lambda n: n.inputs[0], "spikes", np.zeros((10, 0), bool)), "inputs['in'].spikes"),
    # monitors
    "weights of a population": (lambda n: n.monitors.append(Monitor("exc", "weights")), "monitors[4].variable"),
    "v of a spike input": (lambda n: n.monitors.append(Monitor("in", "v")), "monitors[4].variable"),
    "spikes of a projection": (lambda n: n.monitors.append(Monitor("in->exc", "spikes")), "monitors[4].variable"),
    "unknown variable": (lambda n: n.monitors.append(Monitor("exc", "current")), "monitors[4].variable"),  # type: ignore[arg-type]
    "every on spikes": (lambda n: n.monitors.append(Monitor("inh", "spikes", every=2)), "monitors[4].every"),
    "zero every": (lambda n: n.monitors.append(Monitor("in->exc", "weights", every=0)), "monitors[4].every"),
    # rates
    "rate above 1/dt": (_set(lambda n: n.inputs[1], "rate_hz", 1001.0), "inputs['noise'].rate_hz"),
    "one rate above 1/dt": (
        _set(lambda n: n.inputs[1], "rate_hz", np.array([1.0, 2.0, 2000.0, 3.0])),
        "inputs['noise'].rate_hz",
    ),
    "negative rate": (_set(lambda n: n.inputs[1], "rate_hz", -1.0), "inputs['noise'].rate_hz"),
    # reset
    "bad reset mode": (lambda n: _neuron(n, 0, reset="zero"), "populations['exc'].neuron.reset"),
    "v_reset equal to v_th": (lambda n: _neuron(n, 0, v_reset=1.0), "populations['exc'].neuron.v_reset"),
    "v_reset above v_th": (lambda n: _neuron(n, 1, v_th=0.5, v_reset=0.7), "populations['inh'].neuron.v_reset"),
    # duplicate names
    "duplicate population": (
        lambda n: n.populations.append(Population("exc", 3, LIF(0.02))),
        "populations+inputs['exc']",
    ),
    "population named like an input": (
        lambda n: n.populations.append(Population("noise", 3, LIF(0.02))),
        "populations+inputs['noise']",
    ),
    "duplicate input": (
        lambda n: n.inputs.append(ModulatorInput("reward", np.ones(3))),
        "populations+inputs['reward']",
    ),
    "duplicate projection": (
        lambda n: n.projections.append(Projection("in", "exc", np.zeros((4, 3)))),
        "projections['in->exc']",
    ),
    "duplicate monitor": (lambda n: n.monitors.append(Monitor("exc", "spikes")), "monitors['exc.spikes']"),
    # modulators
    "missing modulator": (lambda n: n.inputs.pop(3), "projections['exc->inh'].plasticity.modulator"),
    "modulator names a spike input": (
        lambda n: setattr(n.projections[2], "plasticity", ThreeFactor(eta=0.1, modulator="in")),
        "projections['exc->inh'].plasticity.modulator",
    ),
    "modulator with wrong width": (_set(lambda n: n.inputs[3], "values", np.ones((10, 3))), "inputs['reward'].values"),
    # options of the HLOP rules
    "basis not orthonormal": (
        _set(
            lambda n: n.projections[0], "plasticity", ErrorModulated(eta=0.1, modulator="reward", basis=np.ones((1, 3)))
        ),
        "projections['in->exc'].plasticity.basis",
    ),
    "basis of the wrong width": (
        _set(lambda n: n.projections[0], "plasticity", OjaSubspace(eta=0.1, basis=np.eye(5)[:2])),
        "projections['in->exc'].plasticity.basis",
    ),
    "basis with NaN": (
        _set(lambda n: n.projections[0], "plasticity", OjaSubspace(eta=0.1, basis=np.full((1, 3), np.nan))),
        "projections['in->exc'].plasticity.basis",
    ),
    "unknown lateral activity": (
        _set(lambda n: n.projections[0], "plasticity", OjaSubspace(eta=0.1, activity="rates")),  # type: ignore[arg-type]
        "projections['in->exc'].plasticity.activity",
    ),
    "error modulator missing": (
        _set(lambda n: n.projections[0], "plasticity", ErrorModulated(eta=0.1, modulator="error")),
        "projections['in->exc'].plasticity.modulator",
    ),
    # holes closed in validation.py (they raised AttributeError/TypeError or passed silently)
    "complex weights": (
        _set(lambda n: n.projections[0], "weights", np.full((4, 3), 0.5 + 1j)),
        "projections['in->exc'].weights",
    ),
    "population list holds a LIF": (lambda n: n.populations.append(LIF(0.02)), "populations[2]"),  # type: ignore[arg-type]
    "input list holds a population": (lambda n: n.inputs.append(Population("x", 1, LIF(0.02))), "inputs[4]"),  # type: ignore[arg-type]
    "projections is None": (_set(lambda n: n, "projections", None), "projections"),
    "monitor given as a string": (lambda n: n.monitors.append("exc.spikes"), "monitors[4]"),  # type: ignore[arg-type]
    "monitor target names a projection and a population": (
        lambda n: (setattr(n.projections[3], "name", "exc"), n.monitors.append(Monitor("exc", "weights"))),
        "monitors[0].target",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_spec_gives_spec_error_naming_the_field(case: str):
    edit, field = BAD[case]
    network = base()
    edit(network)
    with pytest.raises(SpecError) as info:
        network.validate()
    assert info.value.field == field, str(info.value)
    assert str(info.value).startswith(f"{field}: ")
    assert len(info.value.problem) > 10  # says what would be valid
