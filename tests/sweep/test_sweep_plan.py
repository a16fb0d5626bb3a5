"""Sweep files: expansion into points, readable ids, errors naming the key, the TOML writer."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sweep_helpers import memory_sweep, write_sweep

from spikemem.sweep import SweepError, load_sweep
from spikemem.sweep.tomlw import dumps

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def test_expansion_is_the_product_in_order(tmp_path: Path) -> None:
    extra = '[[sweep.axes]]\nkey = "model.load"\nvalues = [0.05, 0.1, 0.12]\nname = "alpha"\n'
    sweep = load_sweep(memory_sweep(tmp_path, extra))
    assert len(sweep.points) == 2 * 3 * 2 * 2  # configs x axis values x backends x seeds
    first = sweep.points[0]
    assert first.id == "sync-alpha0.05-reference-seed0"
    assert first.overrides[-1] == "model.load=0.05"
    assert [p.id for p in sweep.points[:4]] == [
        "sync-alpha0.05-reference-seed0",
        "sync-alpha0.05-reference-seed1",
        "sync-alpha0.05-brian2-seed0",
        "sync-alpha0.05-brian2-seed1",
    ]
    capacity = next(p for p in sweep.points if p.config_name == "capacity")
    assert "recall.report_load=0.05" in capacity.overrides and "model.neurons=80" in capacity.overrides
    assert capacity.axes == {"alpha": 0.05}
    assert len({p.id for p in sweep.points}) == len(sweep.points)
    assert sweep.transfer == "return" and sweep.max_retries == 2


def test_backend_tables_carry_label_overrides_patch_and_resources(tmp_path: Path) -> None:
    path = write_sweep(
        tmp_path / "s.toml",
        """
[sweep]
configs = ["@EXP@/local_pdigits_hlop.toml"]
backends = [{name = "lava", label = "lava-fixed", config = {experiment = {numeric = "fixed"}},
             cpus = 2, resources = {lava = 1}}, "reference"]
max_retries = 0
[sweep.ray]
transfer = "shared"
""",
    )
    sweep = load_sweep(path)
    lava = sweep.points[0]
    assert lava.id == "local_pdigits_hlop-lava-fixed-seed0"
    assert (lava.backend, lava.cpus, lava.resources) == ("lava", 2.0, {"lava": 1.0})
    assert lava.patch == {"experiment": {"numeric": "fixed"}}
    assert sweep.points[1].patch == {} and sweep.transfer == "shared" and sweep.max_retries == 0


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("[sweep]\nseeds = [0]\n", "sweep.configs"),
        ('[sweep]\nconfigs = ["nope.toml"]\n', "sweep.configs[0].path"),
        ('[sweep]\nconfigs = ["@EXP@/hopfield_recall.toml"]\nseeds = [-1]\n', "sweep.seeds"),
        ('[sweep]\nconfigs = ["@EXP@/hopfield_recall.toml"]\nset = ["model.neurons"]\n', "sweep.set"),
        ('[sweep]\nconfigs = ["@EXP@/hopfield_recall.toml"]\nbackends = [{name = "x", colour = 1}]\n', "colour"),
        ('[sweep]\nconfigs = ["@EXP@/hopfield_recall.toml"]\nbackends = ["reference", "reference"]\n', "labels"),
        ('[sweep]\nconfigs = ["@EXP@/hopfield_recall.toml"]\n[[sweep.axes]]\nkey = "model.load"\n', "values"),
        ('[sweep]\nconfigs = ["@EXP@/hopfield_recall.toml"]\n[sweep.ray]\ntransfer = "ftp"\n', "transfer"),
        ('[sweep]\nconfigs = ["@EXP@/hopfield_recall.toml"]\nmax_retries = -1\n', "sweep.max_retries"),
        ("no [sweep] here = 1\n", "TOML"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, body: str, key: str) -> None:
    with pytest.raises(SweepError, match=key.replace("[", r"\[").replace("]", r"\]")):
        load_sweep(write_sweep(tmp_path / "bad.toml", body))


def test_toml_writer_round_trips(tmp_path: Path) -> None:
    data = {
        "experiment": {"kind": "x", "seed": 3, "backend_options": {"numeric": "fixed", "odd key": 'a"b\\c'}},
        "model": {"load": 0.1, "hidden": [800, 800], "flag": False, "tiny": 1e-300, "mix": [{"a": 1}, {"b": [0.5]}]},
        "top": 1.5,
    }
    assert tomllib.loads(dumps(data)) == data


def test_points_a_cluster_cannot_run_are_named(tmp_path: Path) -> None:
    from spikemem.sweep.executors import infeasible

    path = write_sweep(
        tmp_path / "s.toml",
        '[sweep]\nconfigs = ["@EXP@/hopfield_recall.toml"]\n'
        'backends = ["reference", {name = "lava", cpus = 2, resources = {lava = 1}}, {name = "snntorch", gpus = 1}]\n',
    )
    points = load_sweep(path).points
    assert infeasible(points, {"CPU": 4.0, "GPU": 1.0, "lava": 2.0}) == []
    assert infeasible(points, {"CPU": 1.0}) == [
        "hopfield_recall-lava-seed0 needs 2 CPU (cluster: 1), 1 lava (cluster: 0)",
        "hopfield_recall-snntorch-seed0 needs 1 GPU (cluster: 0)",
    ]
