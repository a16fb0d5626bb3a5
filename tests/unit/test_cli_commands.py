"""The command line: every bad spec gives one line on stderr and exit code 2; good ones run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_validation import BAD, base

from spikemem.cli import main
from spikemem.spec import save


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_spec_exits_2_with_one_line_naming_the_field(case: str, tmp_path: Path, capsys) -> None:
    network = base()
    mutate, field = BAD[case]
    mutate(network)
    path = save(network, tmp_path / "net.json")
    assert main(["validate", str(path)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert field in lines[0]
    assert main(["simulate", str(path), "--backend", "reference", "--steps", "5"]) == 2
    assert field in capsys.readouterr().err


def test_valid_spec_validates_and_simulates(tmp_path: Path, capsys) -> None:
    path = save(base(), tmp_path / "net.json")
    assert main(["validate", str(path)]) == 0
    assert "valid" in capsys.readouterr().out
    assert main(["simulate", str(path), "--steps", "10", "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "recording.npz").exists()


def test_missing_file_and_unknown_backend(tmp_path: Path, capsys) -> None:
    assert main(["validate", str(tmp_path / "none.json")]) == 2
    assert "no such file" in capsys.readouterr().err
    path = save(base(), tmp_path / "net.json")
    assert main(["simulate", str(path), "--backend", "nest", "--steps", "3"]) == 2
    assert "unknown backend" in capsys.readouterr().err


def test_backends_json_lists_every_backend(capsys) -> None:
    assert main(["backends", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["reference", "brian2", "snntorch", "lava"]
    for row in rows:
        assert isinstance(row["available"], bool)
        assert row["available"] or row["reason"], "an unavailable backend must say why"
        assert set(row["capabilities"]) >= {"numeric", "rules", "gradient_training", "devices"}
