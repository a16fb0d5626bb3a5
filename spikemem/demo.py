"""The main demo: one model description, every backend, identical spikes.

Builds a small excitatory/inhibitory network driven by seeded Poisson input,
with pair-STDP on the input projection, runs it on every backend that is
available (float and, where supported, fixed point), and reports agreement
with the numpy reference: a table in the terminal and a raster plot file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spikemem.backend import UnsupportedFeatureError
from spikemem.backends import backend_names, get_backend
from spikemem.recording import Recording
from spikemem.spec import LIF, Monitor, Network, PairSTDP, PoissonInput, Population, Projection
from spikemem.tables import format_table


def demo_network(seed: int = 0, plastic: bool = True) -> Network:
    """Poisson input -> 160 excitatory <-> 40 inhibitory LIF neurons; STDP on the input weights."""
    rng = np.random.default_rng(seed)
    n_in, n_exc, n_inh = 100, 160, 40
    sparse = lambda shape, p: rng.random(shape) < p  # noqa: E731 - local shorthand
    return Network(
        dt=1e-3,
        populations=[
            Population("exc", n_exc, LIF(tau_mem=0.02, v_th=1.0, refractory_steps=2)),
            Population("inh", n_inh, LIF(tau_mem=0.01, v_th=1.0, reset="subtract")),
        ],
        inputs=[PoissonInput("input", n_in, rate_hz=rng.uniform(5, 40, n_in), seed=seed)],
        projections=[
            Projection(
                "input",
                "exc",
                rng.uniform(0, 0.5, (n_exc, n_in)) * sparse((n_exc, n_in), 0.3),
                plasticity=PairSTDP(a_plus=0.005, a_minus=0.006, w_min=0.0, w_max=0.6) if plastic else None,
                name="input->exc",
            ),
            Projection("exc", "inh", rng.uniform(0, 0.3, (n_inh, n_exc)) * sparse((n_inh, n_exc), 0.2)),
            Projection("inh", "exc", -rng.uniform(0, 0.6, (n_exc, n_inh)) * sparse((n_exc, n_inh), 0.4), delay=2),
        ],
        monitors=[Monitor("exc", "spikes"), Monitor("inh", "spikes"), Monitor("input->exc", "weights")],
        name="demo",
    )


@dataclass
class DemoRow:
    backend: str
    numeric: str
    status: str
    spikes: int | None = None
    identical: bool | None = None
    weight_error: float | None = None
    seconds: float | None = None


def _compare(recording: Recording, expected: Recording) -> tuple[int, bool, float | None]:
    spikes = int(recording.spikes("exc").sum() + recording.spikes("inh").sum())
    identical = all(np.array_equal(recording.spikes(p), expected.spikes(p)) for p in ("exc", "inh"))
    error = None
    if "input->exc.weights" in recording:
        error = float(np.abs(recording.weights("input->exc") - expected.weights("input->exc")).max())
    return spikes, identical, error


def run_demo(out: Path, steps: int = 300) -> int:
    """Run the demo, print the table, write ``out/raster.png`` and ``out/demo.json``; 0 on full agreement."""
    from spikemem.io import write_json

    out.mkdir(parents=True, exist_ok=True)
    rows: list[DemoRow] = []
    rasters: dict[str, np.ndarray] = {}
    for numeric in ("float", "fixed"):
        plastic = numeric == "float"
        with get_backend("reference").compile(demo_network(plastic=plastic), numeric=numeric) as sim:
            expected = sim.run(steps)
        for name in backend_names():
            backend = get_backend(name)
            availability = backend.available()
            if not availability:
                rows.append(DemoRow(name, numeric, f"unavailable: {availability.reason}"))
                continue
            if numeric not in backend.capabilities.numeric:
                continue
            try:
                with backend.compile(demo_network(plastic=plastic), numeric=numeric) as sim:
                    recording = sim.run(steps)
            except UnsupportedFeatureError as exc:
                rows.append(DemoRow(name, numeric, f"refused: {exc}"))
                continue
            spikes, identical, error = _compare(recording, expected)
            rows.append(DemoRow(name, numeric, "ok", spikes, identical, error, recording.wall_time_s))
            rasters[f"{name} ({numeric})"] = recording.spikes("exc")
    print(f"One network ({steps} steps, 300 neurons, STDP in float) on every backend, against the numpy reference:")
    print(
        format_table(
            ["backend", "numeric", "status", "spikes", "identical spikes", "max |dW|", "run s"],
            [
                [
                    r.backend,
                    r.numeric,
                    r.status,
                    r.spikes if r.spikes is not None else "-",
                    r.identical if r.identical is not None else "-",
                    f"{r.weight_error:.2e}" if r.weight_error is not None else "-",
                    f"{r.seconds:.3f}" if r.seconds is not None else "-",
                ]
                for r in rows
            ],
        )
    )
    _plot(rasters, out / "raster.png")
    write_json(out / "demo.json", {"steps": steps, "rows": [vars(r) for r in rows]})
    print(f"wrote {out / 'raster.png'} and {out / 'demo.json'}")
    ok = all(r.status == "ok" and r.identical for r in rows if r.status != "refused")
    return 0 if ok else 1


def _plot(rasters: dict[str, np.ndarray], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(rasters), 1, figsize=(9, 1.6 * len(rasters) + 0.6), sharex=True, squeeze=False)
    for ax, (label, raster) in zip(axes[:, 0], rasters.items(), strict=True):
        t, i = np.nonzero(raster)
        ax.scatter(t, i, s=1.5, color="black", marker="|")
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
        ax.set_yticks([])
    axes[-1, 0].set_xlabel("step")
    fig.suptitle("Excitatory spikes of the same network on every backend")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
