"""Exact round trip of the generic JSON + .npz serializer, and refusal of tampered files."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spikemem.spec import (
    LIF,
    RULE_TYPES,
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
    SpecError,
    SpikeInput,
    ThreeFactor,
    load,
    save,
)
from spikemem.spec.inputs import INPUT_TYPES
from spikemem.spec.serialize import CLASSES, FORMAT, VERSION, arrays_path, from_dict, to_dict


def full_network() -> Network:
    """Every population, input, rule and monitor type; arrays of several dtypes; masks; None fields."""
    rng = np.random.default_rng(3)
    n_in, n_a, n_b, n_c, steps = 5, 4, 3, 2, 12
    mask = rng.random((n_b, n_a)) < 0.6
    rules = {
        "hebb": Hebb(eta=1e-3, tau_pre=0.0, tau_post=0.01, pre_offset=0.1, post_offset=-0.2, w_min=-1.0, w_max=None),
        "oja": Oja(eta=np.float32(0.01)),
        "subspace": OjaSubspace(
            eta=0.1, tau_pre=0.03, w_max=10.0, activity="graded", basis=np.linalg.qr(rng.normal(size=(n_a, 2)))[0].T
        ),
        "error": ErrorModulated(eta=0.2, modulator="per-neuron", basis=np.eye(n_b)[:1]),
        "stdp": PairSTDP(a_plus=0.01, a_minus=0.012, tau_pre=np.float64(0.02), w_min=0.0, w_max=1.0),
        "three": ThreeFactor(eta=0.5, modulator="reward", tau_eligibility=0.1, w_min=-2.0),
        "base": PlasticityRule(w_min=-0.5),
    }
    return Network(
        dt=1e-3,
        name="every-type",
        populations=[
            Population("a", n_a, LIF(tau_mem=0.02), v_init=rng.uniform(-0.2, 0.5, n_a).astype(np.float32)),
            Population("b", n_b, LIF(tau_mem=1 / 30, v_th=0.8, v_reset=-0.0, reset="value", refractory_steps=2)),
            Population("c", np.int64(n_c), LIF(tau_mem=0.05, v_th=1.5, reset="subtract"), v_init=np.float16(0.25)),
            Population("d", 1, LIF(tau_mem=0.1, v_th=5e-324), v_init=(0.1,)),
        ],
        inputs=[
            SpikeInput("raster", rng.random((steps, n_in)) < 0.3),
            PoissonInput("poisson", size=n_a, rate_hz=rng.uniform(5, 50, n_a), seed=2**63 + 7),
            PoissonInput("poisson1", size=2, rate_hz=20.0),
            CurrentInput("bias", "a", np.array([0.1, 0.2, 0.3, 1 / 3], dtype=np.float64)),
            CurrentInput("drive", "b", rng.normal(0, 1, (steps, n_b)).astype(np.float16)),
            ModulatorInput("reward", np.linspace(-1, 1, steps)),
            ModulatorInput("per-neuron", rng.normal(size=(steps, n_c)).astype(np.float32)),
        ],
        projections=[
            Projection("raster", "a", rng.normal(0, 0.3, (n_a, n_in)), plasticity=rules["hebb"]),
            Projection(
                "poisson",
                "a",
                rng.normal(0, 0.3, (n_a, n_a)).astype(np.float32),
                plasticity=rules["oja"],
                delay=3,
                name="p-a",
            ),
            Projection("a", "b", rng.normal(0, 0.3, (n_b, n_a)) * mask, mask=mask, plasticity=rules["subspace"]),
            Projection("b", "c", rng.integers(-3, 4, (n_c, n_b)).astype(np.int16), plasticity=rules["stdp"]),
            Projection("b", "b", np.zeros((n_b, n_b)), plasticity=rules["three"], delay=np.int32(2)),
            Projection("poisson1", "c", np.full((n_c, 2), 0.5), plasticity=rules["base"]),
            Projection("c", "d", np.ones((1, n_c)), plasticity=None),
            Projection("b", "c", np.zeros((n_c, n_b)), plasticity=rules["error"], name="b-c-error"),
        ],
        monitors=[
            Monitor("a"),
            Monitor("a", "v"),
            Monitor("b", "count"),
            Monitor("raster", "spikes"),
            Monitor("a->b", "weights", every=4),
            Monitor("b->c", "weights"),
        ],
    )


def assert_identical(a: Any, b: Any, path: str = "network") -> None:
    """Same types everywhere, bit-equal arrays (dtype, shape, bytes), exact floats (sign of zero too)."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{path}: {a.dtype}{a.shape} != {b.dtype}{b.shape}"
        assert a.tobytes() == b.tobytes(), f"{path}: array contents differ"
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), f"{path}: {a!r} != {b!r}"
    elif isinstance(a, float):
        assert (a == b and math.copysign(1, a) == math.copysign(1, b)) or (math.isnan(a) and math.isnan(b)), path
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_identical(x, y, f"{path}[{index}]")
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            assert_identical(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def test_registry_covers_every_public_spec_class():
    assert set(CLASSES) >= {"Network", "Population", "Projection", "LIF", "Monitor", "PlasticityRule"}
    assert {cls.__name__ for cls in RULE_TYPES + INPUT_TYPES} <= set(CLASSES)
    assert all(CLASSES[name].__name__ == name for name in CLASSES)


def test_full_network_is_valid_and_round_trips_exactly(tmp_path: Path):
    network = full_network().validate()
    path = save(network, tmp_path / "net.json")
    assert path == tmp_path / "net.json" and arrays_path(path).is_file()
    loaded = load(path)
    assert_identical(network, loaded)
    loaded.validate()
    # the rule objects are rebuilt as the same (frozen) classes with equal parameters
    assert [p.plasticity for p in loaded.projections] == [p.plasticity for p in network.projections]
    # the numpy scalars keep their dtype
    assert type(loaded.populations[2].size) is np.int64
    assert type(loaded.populations[2].v_init) is np.float16
    assert type(loaded.projections[1].plasticity.eta) is np.float32
    assert loaded.populations[3].v_init == (0.1,)
    assert loaded.inputs[1].seed == 2**63 + 7
    assert math.copysign(1, loaded.populations[1].neuron.v_reset) == -1.0


def test_save_load_save_gives_identical_files(tmp_path: Path):
    first = save(full_network(), tmp_path / "one.json")
    second = save(load(first), tmp_path / "two.json")
    documents = [json.loads(path.read_text()) for path in (first, second)]
    for document in documents:
        document.pop("arrays_sha256")  # the zip members carry timestamps
    assert documents[0] == documents[1]
    with np.load(arrays_path(first)) as a, np.load(arrays_path(second)) as b:
        assert a.files == b.files
        for key in a.files:
            assert a[key].dtype == b[key].dtype and a[key].tobytes() == b[key].tobytes()


def test_json_is_readable_and_names_arrays_by_path(tmp_path: Path):
    path = save(full_network(), tmp_path / "net.json")
    document = json.loads(path.read_text())
    assert document["format"] == FORMAT and document["version"] == VERSION
    population = document["network"]["fields"]["populations"][1]
    assert population["class"] == "Population"
    assert population["fields"]["neuron"] == {
        "class": "LIF",
        "fields": {"tau_mem": 1 / 30, "v_th": 0.8, "v_reset": -0.0, "reset": "value", "refractory_steps": 2},
    }
    weights = document["network"]["fields"]["projections"][0]["fields"]["weights"]
    assert weights == {"array": "network.projections[0].weights"}
    assert document["network"]["fields"]["projections"][0]["fields"]["plasticity"]["fields"]["w_max"] is None


def test_in_memory_round_trip_with_to_dict_and_from_dict():
    network = full_network()
    document, arrays = to_dict(network)
    json.dumps(document)  # plain JSON data
    assert all(isinstance(array, np.ndarray) for array in arrays.values())
    assert_identical(network, from_dict(json.loads(json.dumps(document)), arrays))


def test_compressed_save_round_trips(tmp_path: Path):
    network = full_network()
    assert_identical(network, load(save(network, tmp_path / "net.json", compress=True)))


def test_save_leaves_no_temporary_files_and_replaces_old_files(tmp_path: Path):
    save(Network(dt=1e-3, populations=[Population("x", 2, LIF(0.02))]), tmp_path / "net.json")
    save(full_network(), tmp_path / "net.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json", "net.npz"]
    assert load(tmp_path / "net.json").name == "every-type"


def test_failed_save_keeps_the_old_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = save(full_network(), tmp_path / "net.json")
    before = path.read_bytes(), arrays_path(path).read_bytes()

    def broken_sha256(path: Path) -> str:
        assert path.name.startswith(".net.npz.") and path.is_file()  # the arrays' temporary file exists
        raise OSError("disk full")

    monkeypatch.setattr("spikemem.spec.serialize._sha256", broken_sha256)
    with pytest.raises(OSError, match="disk full"):
        save(Network(dt=1e-3, populations=[Population("x", 2, LIF(0.02))]), path)
    assert (path.read_bytes(), arrays_path(path).read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json", "net.npz"]


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (np.array([object(), 1]), "network.populations[0].v_init"),
        ({1, 2}, "network.populations[0].v_init"),
        (np.ma.masked_array([1.0, 2.0], mask=[0, 1]), "network.populations[0].v_init"),
        ({1: 2.0}, "network.populations[0].v_init"),
    ],
)
def test_save_refuses_values_it_cannot_round_trip(tmp_path: Path, value: Any, field: str):
    network = Network(dt=1e-3, populations=[Population("x", 2, LIF(0.02), v_init=value)])
    with pytest.raises(SpecError, match=field.replace("[", r"\[").replace("]", r"\]")):
        save(network, tmp_path / "net.json")
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_foreign_dataclasses_and_non_networks(tmp_path: Path):
    @dataclasses.dataclass
    class Custom:
        x: int = 1

    network = Network(dt=1e-3, populations=[Population("x", 2, Custom())])  # type: ignore[arg-type]
    with pytest.raises(SpecError, match=r"network\.populations\[0\]\.neuron: cannot save .*Custom"):
        save(network, tmp_path / "net.json")
    with pytest.raises(SpecError, match="network"):
        save(Population("x", 2, LIF(0.02)), tmp_path / "net.json")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="suffix"):
        save(full_network(), tmp_path / "net.npz")


# ----------------------------------------------------------------------------- tampered files


def _tamper(path: Path, edit: Any) -> None:
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))


def _population(document: dict) -> dict:
    return document["network"]["fields"]["populations"][0]


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        (lambda d: d.update(version=2), "version", "unsupported format version 2"),
        (lambda d: d.update(version="1"), "version", "unsupported"),
        (lambda d: d.update(format="other"), "format", "not a saved spikemem network"),
        (lambda d: d.update(extra=1), "extra", "unknown top-level entry"),
        (lambda d: d.pop("network"), "network", "missing"),
        (
            lambda d: _population(d).update({"class": "os.system"}),
            r"network\.populations\[0\]\.class",
            "unknown class 'os.system'",
        ),
        (lambda d: _population(d)["fields"].update(speed=1), r"network\.populations\[0\]\.speed", "no field 'speed'"),
        (lambda d: _population(d)["fields"].pop("size"), r"network\.populations\[0\]\.size", "missing"),
        (
            lambda d: _population(d)["fields"].update(v_init={"array": "nowhere"}),
            r"network\.populations\[0\]\.v_init",
            "does not contain",
        ),
        (
            lambda d: _population(d)["fields"].update(v_init={"pickle": "x"}),
            r"network\.populations\[0\]\.v_init",
            "unrecognised JSON value",
        ),
        (
            lambda d: _population(d)["fields"].update(neuron={"class": "LIF", "fields": {"tau_mem": 1, "bad": 2}}),
            r"network\.populations\[0\]\.neuron\.bad",
            "LIF has no field 'bad'",
        ),
        (lambda d: d["network"].update({"class": "Population"}), r"network\.dt", "Population has no field 'dt'"),
        (lambda d: d.update(network=[1, 2]), "network", "must describe a Network"),
        (
            lambda d: d["network"]["fields"]["populations"][1]["fields"].update(
                v_init={"array": "network.populations[0].v_init"}
            ),
            r"network\.populations\[1\]\.v_init",
            "a second time",
        ),
        (lambda d: _population(d)["fields"].update(v_init=0.0), "arrays", "nothing refers to"),
    ],
)
def test_tampered_json_gives_spec_error_naming_the_field(tmp_path: Path, edit: Any, field: str, words: str):
    path = save(full_network(), tmp_path / "net.json")
    _tamper(path, edit)
    with pytest.raises(SpecError, match=rf"^{field}: .*({words})"):
        load(path)


def test_modified_arrays_file_is_refused(tmp_path: Path):
    path = save(full_network(), tmp_path / "net.json")
    with np.load(arrays_path(path)) as npz:
        arrays = {key: npz[key] for key in npz.files}
    arrays["network.projections[0].weights"] = arrays["network.projections[0].weights"] * 2
    np.savez(arrays_path(path), **arrays)
    with pytest.raises(SpecError, match=r"^arrays_sha256: .*does not match"):
        load(path)
    arrays_path(path).unlink()
    with pytest.raises(SpecError, match=r"^arrays_sha256: .*missing"):
        load(path)


def test_pickled_arrays_are_refused_without_unpickling(tmp_path: Path):
    """An object array with a matching checksum is still refused: np.load(allow_pickle=False)."""
    import hashlib

    path = save(Network(dt=1e-3, populations=[Population("x", 2, LIF(0.02), v_init=np.zeros(2))]), tmp_path / "n.json")
    np.savez(arrays_path(path), **{"network.populations[0].v_init": np.array([print, 1], dtype=object)})
    digest = hashlib.sha256(arrays_path(path).read_bytes()).hexdigest()
    _tamper(path, lambda d: d.update(arrays_sha256=digest))
    with pytest.raises(SpecError, match=r"^arrays: cannot read .* without pickle"):
        load(path)


def test_invalid_json_and_scalar_shape_are_refused(tmp_path: Path):
    path = save(Network(dt=1e-3, populations=[Population("x", 2, LIF(0.02))]), tmp_path / "net.json")
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(SpecError, match="is not a JSON file"):
        load(path)
    document, arrays = to_dict(Network(dt=np.float64(1e-3), populations=[Population("x", 2, LIF(0.02))]))
    arrays["network.dt"] = np.zeros(2)
    with pytest.raises(SpecError, match=r"^network\.dt: .*shape \(2,\)"):
        from_dict(document, arrays)
