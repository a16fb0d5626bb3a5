"""The networks every backend must execute identically to the reference.

Each case is a small function of no arguments returning a fresh, validated
:class:`~spikemem.spec.Network` and the number of steps to run. Seeds are
fixed, so every backend sees the same network and the same inputs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from spikemem.spec import (
    LIF,
    CurrentInput,
    ErrorModulated,
    Hebb,
    ModulatorInput,
    Monitor,
    Network,
    Oja,
    OjaSubspace,
    PairSTDP,
    PlasticityRule,
    PoissonInput,
    Population,
    Projection,
    SpikeInput,
    ThreeFactor,
)

DT = 1e-3
STEPS = 200


def _raster(rng: np.random.Generator, steps: int, size: int, p: float) -> np.ndarray:
    return rng.random((steps, size)) < p


def _layer(
    *,
    neuron: LIF,
    seed: int = 0,
    n_in: int = 30,
    n: int = 40,
    delay_in: int = 1,
    delay_lat: int = 1,
    v_init: float | np.ndarray = 0.0,
) -> Network:
    """Spike raster -> LIF layer with lateral (mixed-sign) weights."""
    rng = np.random.default_rng(seed)
    return Network(
        dt=DT,
        populations=[Population("layer", n, neuron, v_init=v_init)],
        inputs=[SpikeInput("in", _raster(rng, STEPS, n_in, 0.1))],
        projections=[
            Projection("in", "layer", rng.normal(0.12, 0.1, (n, n_in)), delay=delay_in),
            Projection("layer", "layer", rng.normal(0.0, 0.15, (n, n)) * (rng.random((n, n)) < 0.3), delay=delay_lat),
        ],
        monitors=[Monitor("layer", "spikes"), Monitor("layer", "v"), Monitor("in", "spikes")],
        name="layer",
    )


def lif_layer() -> Network:
    """LIF layer with input and lateral weights, reset to zero."""
    return _layer(neuron=LIF(tau_mem=0.02))


def reset_subtract() -> Network:
    """Reset by subtraction of the threshold."""
    return _layer(neuron=LIF(tau_mem=0.02, reset="subtract"), seed=1)


def reset_to_value() -> Network:
    """Reset to a nonzero value, threshold != 1, nonzero initial potentials."""
    rng = np.random.default_rng(7)
    return _layer(neuron=LIF(tau_mem=0.03, v_th=0.8, v_reset=-0.3), seed=2, v_init=rng.uniform(-0.3, 0.7, 40))


def refractory() -> Network:
    """Three refractory steps after each spike."""
    return _layer(neuron=LIF(tau_mem=0.02, refractory_steps=3), seed=3)


def delays() -> Network:
    """Input delay 3, lateral delay 2."""
    return _layer(neuron=LIF(tau_mem=0.02), seed=4, delay_in=3, delay_lat=2)


def poisson_input() -> Network:
    """Seeded Poisson input onto a layer with a constant bias current."""
    rng = np.random.default_rng(5)
    n = 40
    return Network(
        dt=DT,
        populations=[Population("layer", n, LIF(tau_mem=0.02))],
        inputs=[
            PoissonInput("noise", 25, rate_hz=rng.uniform(20, 120, 25), seed=11),
            CurrentInput("bias", "layer", np.full(n, 0.02)),
        ],
        projections=[Projection("noise", "layer", rng.normal(0.15, 0.1, (n, 25)))],
        monitors=[Monitor("layer", "spikes"), Monitor("layer", "count"), Monitor("noise", "spikes")],
        name="poisson",
    )


def time_varying_current() -> Network:
    """Sinusoidal current per neuron, two populations in a loop (exc -> inh -> exc)."""
    rng = np.random.default_rng(6)
    n_exc, n_inh = 30, 10
    t = np.arange(STEPS)[:, None]
    drive = 0.08 + 0.08 * np.sin(2 * np.pi * t / 50 + rng.uniform(0, 2 * np.pi, n_exc))
    return Network(
        dt=DT,
        populations=[
            Population("exc", n_exc, LIF(tau_mem=0.02)),
            Population("inh", n_inh, LIF(tau_mem=0.01, reset="subtract")),
        ],
        inputs=[CurrentInput("drive", "exc", drive)],
        projections=[
            Projection("exc", "inh", rng.uniform(0.0, 0.3, (n_inh, n_exc))),
            Projection("inh", "exc", -rng.uniform(0.0, 0.4, (n_exc, n_inh)), delay=2),
        ],
        monitors=[Monitor("exc", "spikes"), Monitor("inh", "spikes"), Monitor("exc", "v")],
        name="exc-inh",
    )


SPIKING_CASES: dict[str, Callable[[], Network]] = {
    "lif_layer": lif_layer,
    "reset_subtract": reset_subtract,
    "reset_to_value": reset_to_value,
    "refractory": refractory,
    "delays": delays,
    "poisson_input": poisson_input,
    "time_varying_current": time_varying_current,
}


def plastic(rule: PlasticityRule, seed: int = 0) -> Network:
    """Poisson input driving a layer through a plastic projection; final weights monitored."""
    rng = np.random.default_rng(seed)
    n_in, n = 20, 8
    inputs: list = [PoissonInput("in", n_in, rate_hz=rng.uniform(40, 160, n_in), seed=21)]
    if isinstance(rule, ThreeFactor):
        inputs.append(ModulatorInput("reward", np.sin(np.arange(STEPS) / 15.0)))
    if isinstance(rule, ErrorModulated):  # one error per output neuron
        inputs.append(ModulatorInput("error", np.sin(np.arange(STEPS)[:, None] / 15.0 + np.arange(n))))
    return Network(
        dt=DT,
        populations=[Population("post", n, LIF(tau_mem=0.02, v_th=0.6))],
        inputs=inputs,
        projections=[Projection("in", "post", rng.uniform(0.05, 0.35, (n, n_in)), plasticity=rule, name="plastic")],
        monitors=[
            Monitor("post", "spikes"),
            Monitor("plastic", "weights"),
            Monitor("in", "count"),
        ],
        name=f"plastic-{rule.name}",
    )


def orthonormal_basis(rows: int, n: int, seed: int = 3) -> np.ndarray:
    """``rows`` orthonormal rows in ``n`` dimensions (a consolidated HLOP subspace)."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(n, rows)))
    return q.T.copy()


RULES: dict[str, PlasticityRule] = {
    "Hebb": Hebb(eta=5e-4, tau_pre=0.01, tau_post=0.01, pre_offset=0.05, post_offset=0.05, w_min=-1.0, w_max=1.0),
    "Oja": Oja(eta=5e-3, tau_pre=0.02, tau_post=0.02),
    "OjaSubspace": OjaSubspace(eta=2e-3, tau_pre=0.02, tau_post=0.02),
    "PairSTDP": PairSTDP(a_plus=0.01, a_minus=0.012, tau_pre=0.02, tau_post=0.02, w_min=0.0, w_max=0.5),
    "ThreeFactor": ThreeFactor(eta=1e-3, modulator="reward", tau_eligibility=0.05, tau_pre=0.02),
    "ErrorModulated": ErrorModulated(eta=2e-3, modulator="error", tau_pre=0.02),
    "ErrorModulated+basis": ErrorModulated(eta=5e-3, modulator="error", basis=orthonormal_basis(4, 20)),
    "OjaSubspace+graded": OjaSubspace(eta=1e-4, tau_pre=0.02, activity="graded"),
    "OjaSubspace+graded+basis": OjaSubspace(eta=1e-4, tau_pre=0.02, activity="graded", basis=orthonormal_basis(4, 20)),
}
"""Every rule, and the variants (``+...``) of the options that change the equations."""
