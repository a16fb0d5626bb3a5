r"""``spikemem deploy``: a trained spiking MLP on the Lava simulator, float and Loihi fixed point.

:func:`deploy` loads a run directory (from any backend), runs the test set of
every task on the source backend and on Lava (``floating_pt``, and with
``fixed_point`` the bit-accurate ``fixed_pt`` models), and writes a parity
report: accuracy per task on each, spike-count agreement with the source,
and the quantization of every layer.

Quantization (fixed point). Hidden and readout populations and their
projections are reported as Lava itself quantizes them
(``Simulation.fixed_point``: :func:`spikemem.fixed_point.quantize` with the
Lava options of the deployment, never a re-quantization with defaults): one power-of-two
scale per population (reported) and 8-bit signed weight mantissas with one
exponent per projection. With the direct encoding, layer 1 is driven by the
current :math:`W_1 I` (Loihi's bias input); its weights are quantized the same
way, to mantissas :math:`m` with one power-of-two step :math:`u` for the layer
(even values in :math:`[-256, 254]`, Loihi's mixed-sign 8-bit weights),
:math:`W_1 \approx u\, m`, and the drive is computed from them
(:func:`~spikemem.continual.inference.quantize_input_layer`).

The deployment folder (``OUT/deployment``) loads back without the training
code (:func:`load_deployment`, numpy + spikemem's spec and Lava backend):
``model.npz`` (weights and constants), ``network.json`` + ``.npz`` (the spec
network Lava runs), ``fixed_point.json`` + ``fixed_point.npz`` (scales,
exponents, integer weights), ``network.nir`` (the static graph, NIR) and
``manifest.json``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spikemem.continual.evaluate import (
    BackendEvaluation,
    TrainedRun,
    agreement,
    evaluate_model,
    load_run,
    print_subset_note,
)
from spikemem.continual.inference import InferenceSession, Progress, QuantizedLayer, mlp_network, quantize_input_layer
from spikemem.continual.trained import TrainedMLP
from spikemem.fixed_point import FixedPointModel
from spikemem.io import InputFileError, read_checked, staged_directory, write_json

FORMAT_VERSION = 1


def weight_errors(exact: np.ndarray, quantized: np.ndarray) -> dict[str, float]:
    """Absolute error, and errors relative to the largest and to the rms weight."""
    diff = np.abs(np.asarray(quantized) - np.asarray(exact))
    largest = float(np.abs(exact).max(initial=0.0)) or 1.0
    rms = float(np.sqrt(np.mean(np.square(exact)))) or 1.0
    return {
        "max_abs": float(diff.max(initial=0.0)),
        "max_rel": float(diff.max(initial=0.0)) / largest,
        "rms_rel": float(np.sqrt(np.mean(np.square(diff)))) / rms,
    }


def quantization_report(model: TrainedMLP, fixed: FixedPointModel) -> tuple[dict[str, Any], QuantizedLayer | None]:
    """Per-layer scales, exponents and errors of ``fixed`` (Lava's own quantization); the 8-bit input layer (direct)."""
    report = fixed.report()
    layers: dict[str, Any] = {}
    input_layer = None
    if model.encoding == "direct":
        input_layer = quantize_input_layer(model.layers[0])
        layers["layer_1"] = {
            "kind": "input current (bias) from 8-bit weights",
            "population_scale": report["populations"]["hidden_1"]["scale"],
            "unit": input_layer.unit,
            "mantissa_bits": 8,
            **weight_errors(model.layers[0], input_layer.weights),
        }
    for name, values in report["projections"].items():
        target = "readout" if name == "heads" else f"hidden_{name.split('_')[1]}"
        layers[name] = {
            "kind": "8-bit weights",
            "population_scale": report["populations"][target]["scale"],
            **values,
        }
    return {"layers": layers, "populations": report["populations"]}, input_layer


def lava_quantization(model: TrainedMLP, options: dict[str, Any] | None = None) -> FixedPointModel:
    """The quantization Lava compiles the model's network to, with ``options`` (its ``Simulation.fixed_point``)."""
    with InferenceSession(model, "lava", "fixed", options) as session:
        fixed = session.simulation.fixed_point
    if fixed is None:  # InferenceSession refuses a fixed-point session without one
        raise RuntimeError("Lava compiled no fixed-point model")
    return fixed


def deploy(
    run_dir: str | Path | TrainedRun,
    out: str | Path,
    fixed_point: bool = True,
    options: dict[str, Any] | None = None,
    max_test: int = 0,
    progress: Progress | None = None,
    source_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Deploy a run to the Lava simulator and write the parity report (module docstring).

    Parameters
    ----------
    run_dir
        ``--out`` directory of a finished continual-learning ``spikemem run`` (or that run, already loaded).
    out
        Where the report and the deployment folder go. They are built in a temporary sibling folder renamed
        to ``out`` at the end (:func:`spikemem.io.staged_directory`): a failure leaves nothing there; an
        earlier deployment at ``out`` is replaced.
    fixed_point
        Also run Lava's bit-accurate fixed-point models.
    options
        Lava backend options (``timeout_s``, ``batch_trials``, ...).
    max_test
        > 0: evaluate only the first samples of each task's test set.
    progress
        Optional progress wrapper.
    source_options
        Options of the source backend (e.g. ``{"target": "numpy"}`` for a Brian2-trained run).

    Returns
    -------
    dict
        The report written to ``OUT/deploy_report.json``.

    Raises
    ------
    InputFileError
        ``out`` is a file, or a non-empty folder that holds no earlier deployment (checked before Lava starts).
    """
    start = time.perf_counter()
    run = run_dir if isinstance(run_dir, TrainedRun) else load_run(run_dir, max_test)
    out = Path(out)
    check_deploy_target(out)
    with staged_directory(out) as stage:  # nothing at ``out`` unless every step succeeds
        report = _deploy_into(stage, out, run, fixed_point, options, progress, source_options)
        report["seconds"] = time.perf_counter() - start
        write_json(stage / "deploy_report.json", report)
    return report


def check_deploy_target(out: Path) -> None:
    """Refuse an ``--out`` that is a file, or a non-empty folder that is not an earlier deployment (user files)."""
    if out.exists() and not out.is_dir():
        raise InputFileError(f"{out}: is a file; give --out a folder (the deployment goes inside it)")
    if out.is_dir() and any(out.iterdir()) and not (out / "deploy_report.json").is_file():
        raise InputFileError(
            f"{out}: a non-empty folder that is not a spikemem deployment; give a new --out "
            "(a folder is replaced only when it holds an earlier deploy_report.json)"
        )


def _deploy_into(
    stage: Path,
    out: Path,
    run: TrainedRun,
    fixed_point: bool,
    options: dict[str, Any] | None,
    progress: Progress | None,
    source_options: dict[str, Any] | None,
) -> dict[str, Any]:
    """The evaluations of :func:`deploy`, the deployment folder written into ``stage``; the report."""
    model, tasks = run.model, run.tasks
    source = evaluate_model(model, tasks, run.seed, model.source_backend, "float", source_options, progress)
    targets = [evaluate_model(model, tasks, run.seed, "lava", "float", options, progress=progress)]
    if fixed_point:  # the session drives layer 1 through the same 8-bit weights (quantize_input_layer)
        targets.append(evaluate_model(model, tasks, run.seed, "lava", "fixed", options, progress=progress))
    fixed = targets[-1].fixed_point if fixed_point else lava_quantization(model, options)
    if fixed is None:  # evaluate_model's fixed-point session refuses a backend without one
        raise RuntimeError("the Lava fixed-point evaluation recorded no quantization")
    quantization, input_layer = quantization_report(model, fixed)
    save_deployment(stage / "deployment", model, fixed, input_layer)
    return {
        "run": str(run.directory),
        "source_backend": model.source_backend,
        "tasks": [task.name for task in tasks],
        "test_samples": [len(task.y_test) for task in tasks],
        "trained_accuracy": run.trained_accuracy,
        "max_test": run.max_test,
        "source": source.summary(),
        "targets": [parity(model, tasks, source, target) for target in targets],
        "quantization": quantization,
        "deployment": str(out / "deployment"),
    }


def parity(model: TrainedMLP, tasks: list[Any], source: BackendEvaluation, target: BackendEvaluation) -> dict[str, Any]:
    """One target's figures against the source: accuracy per task, their difference, spike-count agreement."""
    delta = np.asarray(target.accuracy) - np.asarray(source.accuracy)
    return {
        **target.summary(),
        "accuracy_delta": delta.tolist(),
        "max_abs_accuracy_delta": float(np.abs(delta).max(initial=0.0)),
        "mean_accuracy_delta": float(delta.mean()) if delta.size else 0.0,
        "agreement": agreement(model, tasks, source, target),
    }


def print_report(report: dict[str, Any]) -> None:
    """The parity table (accuracy per task on each backend) and the quantization table."""
    from spikemem.tables import format_table

    runs = [report["source"], *report["targets"]]
    header = [
        "task",
        "trained*" if report.get("max_test") else "trained",
        *(f"{r['backend']} {r['numeric']}" for r in runs),
    ]
    trained = report["trained_accuracy"] or [float("nan")] * len(report["tasks"])
    rows = [
        [name, f"{trained[j]:.4f}", *(f"{r['accuracy'][j]:.4f}" for r in runs)]
        for j, name in enumerate(report["tasks"])
    ]
    rows.append(["mean", f"{np.mean(trained):.4f}", *(f"{r['mean_accuracy']:.4f}" for r in runs)])
    print(format_table(header, rows))
    print_subset_note(report)
    agree = [
        [
            f"{t['backend']} {t['numeric']}",
            f"{t['max_abs_accuracy_delta']:.4f}",
            f"{t['agreement']['prediction_agreement']:.4f}",
            " / ".join(f"{v:.4f}" for v in t["agreement"]["count_equal_fraction"]),
            f"{t['agreement']['samples_identical_fraction']:.4f}",
            f"{t['samples_per_s']:.1f}",
        ]
        for t in report["targets"]
    ]
    print(
        format_table(
            ["vs source", "max |d acc|", "same label", "equal counts / layer", "identical samples", "samples/s"], agree
        )
    )
    layers = [
        [
            name,
            values["kind"],
            f"{values.get('population_scale', float('nan')):g}",
            f"{values.get('exponent', '-')}",
            f"{values.get('unit', float('nan')):.3g}",
            f"{values['max_rel']:.4f}",
            f"{values['rms_rel']:.4f}",
        ]
        for name, values in report["quantization"]["layers"].items()
    ]
    print(format_table(["layer", "quantized as", "scale", "exp", "unit", "max rel err", "rms rel err"], layers))
    costs = cost_rows(runs)
    if costs:
        print(
            "cost per test inference (energies: ESTIMATES from published per-operation figures, spikemem.cost.energy)"
        )
        print(format_table(["layer", *(f"{r['backend']} {r['numeric']}" for r in runs if "cost" in r)], costs))


def cost_rows(runs: list[dict[str, Any]]) -> list[list[str]]:
    """Rows of the cost table: synaptic ops of each projection (layer), spikes of each population, totals, energy."""
    costs = [r["cost"] for r in runs if "cost" in r]
    if not costs:
        return []
    counts = [c["counts"] for c in costs]
    rows = [
        [f"{name} synaptic ops", *(f"{c['projections'][name]['accumulate_ops']:,.1f}" for c in counts)]
        for name in counts[0]["projections"]
    ]
    rows += [
        [f"{name} spikes", *(f"{c['populations'][name]['spikes']:,.1f}" for c in counts)]
        for name in counts[0]["populations"]
    ]
    total = [c["total"] for c in counts]
    rows.append(["graded MACs (drive)", *(f"{t['multiply_accumulate_ops']:,.0f}" for t in total)])
    rows.append(["synaptic ops, total", *(f"{t['synaptic_ops']:,.1f}" for t in total)])
    rows.append(["dense-equivalent MACs", *(f"{t['dense_macs']:,.0f}" for t in total)])
    rows.append(["activation sparsity", *(f"{t['activation_sparsity']:.4f}" for t in total)])
    rows.append(
        ["Loihi energy estimate, nJ", *(f"{c['energy']['loihi']['estimate_joules'] * 1e9:,.2f}" for c in costs)]
    )
    rows.append(
        ["dense MAC estimate, nJ", *(f"{c['energy']['dense_mac']['estimate_joules'] * 1e9:,.2f}" for c in costs)]
    )
    return rows


# -- the deployment folder -------------------------------------------------------------------------


def save_deployment(
    directory: Path, model: TrainedMLP, fixed: FixedPointModel, input_layer: QuantizedLayer | None
) -> Path:
    """Write the deployment folder (module docstring); every file atomically."""
    from spikemem.io import atomic_write
    from spikemem.spec import save
    from spikemem.spec.nir_export import write_nir

    directory.mkdir(parents=True, exist_ok=True)
    model.save(directory / "model.npz")
    network = mlp_network(model)
    save(network, directory / "network.json")
    integers = {f"{name}.mantissa": w.mantissa for name, w in fixed.projections.items()}
    if input_layer is not None:
        integers["layer_1.mantissa"] = input_layer.mantissa
    atomic_write(directory / "fixed_point.npz", lambda handle: np.savez(handle, **integers))
    constants = fixed.report()
    constants["input_layer"] = None if input_layer is None else {"unit": input_layer.unit}
    write_json(directory / "fixed_point.json", constants)
    nir_view = TrainedMLP(model.layers, model.heads, model.neuron, model.steps, "rate", model.gain)
    write_nir(mlp_network(nir_view), directory / "network.nir", lossy=True)
    manifest = {
        "format": "spikemem-deployment",
        "version": FORMAT_VERSION,
        "files": ["model.npz", "network.json", "fixed_point.json", "fixed_point.npz", "network.nir"],
        "load": "spikemem.continual.deployment.load_deployment(DIR).session('fixed' or 'float')",
        "nir": "static graph with layer 1 as a Linear node from spiking inputs (rate view of the network)",
    }
    write_json(directory / "manifest.json", manifest)
    return directory


@dataclass
class Deployment:
    """A deployment folder loaded back (:func:`load_deployment`).

    Attributes
    ----------
    model
        The weights and constants.
    network
        The spec network Lava runs (from ``network.json``).
    input_mantissa, input_unit
        The direct encoding's 8-bit layer-1 weights (None for rate encoding).
    """

    model: TrainedMLP
    network: Any
    input_mantissa: np.ndarray | None
    input_unit: float | None

    def session(self, numeric: str = "fixed", options: dict[str, Any] | None = None) -> InferenceSession:
        """A Lava session of the deployed network (fixed point uses the 8-bit layer-1 weights)."""
        first = None
        if numeric == "fixed" and self.input_mantissa is not None and self.input_unit is not None:
            first = self.input_mantissa.astype(np.float64) * self.input_unit
        return InferenceSession(self.model, "lava", numeric, options, first, network=self.network)


def load_deployment(directory: str | Path) -> Deployment:
    """Read a folder written by :func:`save_deployment` (no training code involved)."""
    import json

    from spikemem.spec import load

    directory = Path(directory)
    manifest_path = directory / "manifest.json"
    if not manifest_path.exists():
        raise FileNotFoundError(
            f"{directory}: no manifest.json; pass the deployment folder written by `spikemem deploy`"
        )
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("format") != "spikemem-deployment" or manifest.get("version") != FORMAT_VERSION:
        raise ValueError(f"{manifest_path}: not a spikemem deployment of format version {FORMAT_VERSION}")
    model = read_checked(directory / "model.npz", "deployed model", TrainedMLP.load)
    network = load(directory / "network.json")
    constants = json.loads((directory / "fixed_point.json").read_text())
    mantissa = unit = None
    if constants.get("input_layer") is not None:
        mantissa = read_checked(directory / "fixed_point.npz", "fixed-point weights", _input_mantissa)
        unit = float(constants["input_layer"]["unit"])
    return Deployment(model, network, mantissa, unit)


def _input_mantissa(path: Path) -> np.ndarray:
    with np.load(path) as data:
        return np.asarray(data["layer_1.mantissa"])


__all__ = [
    "Deployment",
    "deploy",
    "lava_quantization",
    "load_deployment",
    "print_report",
    "quantization_report",
    "save_deployment",
]
