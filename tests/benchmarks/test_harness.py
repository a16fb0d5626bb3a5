"""The benchmark harness with fake implementations: order, warm-up, statistics, ratios, flags, discards, schema."""

from __future__ import annotations

import argparse
import copy
import itertools
from pathlib import Path

import harness
import pytest


def scripted(name: str, times: list[float], log: list[str] | None = None, **kwargs) -> harness.Implementation:
    """An implementation whose timed runs report ``times`` in turn (the warm-up reports 99 s, never counted)."""
    values = iter([99.0, *times])

    def run(_state) -> dict:
        if log is not None:
            log.append(name)
        return {"seconds": next(values), "cpu_seconds": 0.5, "spike_count": 7}

    return harness.Implementation(name, run, **kwargs)


def case(impls, comparisons=(), repeats=3, **kwargs) -> dict:
    return harness.run_case("fake", {"n": 1}, impls, comparisons, repeats, **kwargs)


def test_rounds_alternate_after_one_warmup_each() -> None:
    log: list[str] = []
    case([scripted("a", [1, 1, 1], log), scripted("b", [2, 2, 2], log)])
    assert log == ["a", "b", "a", "b", "a", "b", "a", "b"]  # warm-up a, b; then three rounds a b


def test_prepare_and_teardown_per_run_or_once() -> None:
    calls: list[str] = []
    per_run = scripted("per run", [1, 1], prepare=lambda: calls.append("p") or "s", teardown=lambda s: calls.append(s))
    case([per_run], repeats=2)
    assert calls == ["p", "s"] * 3
    calls.clear()
    once = scripted(
        "once", [1, 1], prepare=lambda: calls.append("p") or "s", teardown=lambda s: calls.append(s), once=True
    )
    case([once], repeats=2)
    assert calls == ["p", "s"]


def test_stats_and_ratios_of_minima_and_medians() -> None:
    comparison = harness.Comparison("b / a", "b", "a", target=3.0, direction="<=")
    result = case([scripted("a", [1.0, 2.0, 4.0]), scripted("b", [3.0, 4.0, 12.0])], [comparison])
    stats = result["implementations"]["a"]["stats"]["seconds"]
    assert stats == {"min": 1.0, "median": 2.0, "max": 4.0}
    (c,) = result["comparisons"]
    assert c["ratio_min"] == pytest.approx(3.0)
    assert c["ratio_median"] == pytest.approx(2.0)
    assert c["min_median_gap"] == pytest.approx(0.5)
    assert c["ratio_paired_median"] == pytest.approx(3.0)  # rounds: 3/1, 4/2, 12/4
    assert not c["agree"]
    assert c["meets_min"] and c["meets_median"]
    assert c["spread"] == pytest.approx(3.0)  # b: 12 / 3 - 1
    assert c["margin"] == pytest.approx(0.5)  # 3 / 2 - 1
    assert c["flagged"]
    assert any("not reliable" in flag for flag in result["flags"])


def test_a_quiet_ratio_far_from_its_target_is_not_flagged() -> None:
    comparisons = [
        harness.Comparison("b / a", "b", "a", target=1.2, direction="<="),
        harness.Comparison("a / b", "a", "b", target=1.5, direction=">="),
        harness.Comparison("reported", "a", "b"),
    ]
    result = case([scripted("a", [1.00, 1.01, 1.02]), scripted("b", [2.0, 2.02, 2.01])], comparisons)
    low, high, reported = result["comparisons"]
    assert low["ratio_median"] == pytest.approx(2.0, rel=0.01)
    assert not low["flagged"] and low["agree"]
    assert low["meets_median"] is False
    assert high["meets_median"] is False and not high["flagged"]
    assert reported["target"] is None and reported["meets_min"] is None and not reported["flagged"]
    assert result["flags"] == []


def test_a_timed_run_that_compiled_is_discarded_rerun_and_reported(tmp_path: Path) -> None:
    cache = harness.CacheDirectory(tmp_path, "fake cache")
    counter = itertools.count()

    def run(_state) -> dict:
        if next(counter) == 2:  # the warm-up is 0; the second timed run compiles
            (tmp_path / "module.so").write_text("")
        return {"seconds": 1.0}

    result = harness.run_case("fake", {}, [harness.Implementation("a", run, detectors=(cache,))], repeats=3)
    record = result["implementations"]["a"]
    assert [r["repeat"] for r in record["runs"]] == [0, 1, 2]
    assert [d["repeat"] for d in record["discarded"]] == [1]
    assert "fake cache: 1 new file(s)" in record["discarded"][0]["reason"]
    assert any("discarded" in flag for flag in result["flags"])


def test_an_implementation_that_always_compiles_fails_loudly(tmp_path: Path) -> None:
    cache = harness.CacheDirectory(tmp_path, "fake cache")
    counter = itertools.count()

    def run(_state) -> None:
        (tmp_path / f"module{next(counter)}.so").write_text("")

    with pytest.raises(RuntimeError, match="every timed run"):
        harness.run_case("fake", {}, [harness.Implementation("a", run, detectors=(cache,))], repeats=1, retries=1)


def test_the_warmup_absorbs_a_first_compilation(tmp_path: Path) -> None:
    cache = harness.CacheDirectory(tmp_path, "fake cache")

    def run(_state) -> None:
        (tmp_path / "module.so").write_text("")  # compiles the first time only, like a cache

    result = harness.run_case("fake", {}, [harness.Implementation("a", run, detectors=(cache,))], repeats=2)
    assert result["implementations"]["a"]["discarded"] == []


def test_quick_replaces_the_sizes_and_turns_the_warmup_off() -> None:
    """``--quick`` (the tests' runs) warms nothing up: each implementation runs once, not twice."""

    def parse(argv: list[str]) -> argparse.Namespace:
        parser = argparse.ArgumentParser()
        parser.add_argument("--samples", type=int, default=100)
        return harness.parse_arguments(parser, argv, {"samples": 4})

    full, quick = parse([]), parse(["--quick"])
    assert (full.samples, full.warmup) == (100, True) and (quick.samples, quick.warmup) == (4, False)
    assert harness.parse_arguments(argparse.ArgumentParser(), ["--no-warmup"], {}).warmup is False
    log: list[str] = []
    case([scripted("a", [1], log), scripted("b", [2], log)], repeats=1, warmup=quick.warmup)
    assert log == ["a", "b"]


def test_measured_times_are_used_when_run_reports_none() -> None:
    result = case([harness.Implementation("a", lambda _: {"label": "x"})], repeats=2)
    record = result["implementations"]["a"]
    assert record["info"] == {"label": "x"}
    assert 0 <= record["stats"]["seconds"]["min"] < 1


def test_document_validates_and_a_broken_one_names_the_place() -> None:
    comparison = harness.Comparison("b / a", "b", "a", 2.0, "<=")
    result = case([scripted("a", [1, 2]), scripted("b", [2, 3])], [comparison], repeats=2)
    doc = harness.document("fake", [result], {"path": Path("x")})
    harness.validate(doc)
    broken = copy.deepcopy(doc)
    broken["cases"][0]["implementations"]["a"]["stats"]["seconds"]["min"] = "fast"
    with pytest.raises(ValueError, match=r"\$\.cases\[0\]\.implementations\.a\.stats\.seconds\.min"):
        harness.validate(broken)
    broken = copy.deepcopy(doc)
    del broken["cases"][0]["comparisons"][0]["ratio_min"]
    with pytest.raises(ValueError, match="ratio_min"):
        harness.validate(broken)
    broken = copy.deepcopy(doc)
    broken["cases"][0]["comparisons"][0]["numerator"] = "c"
    with pytest.raises(ValueError, match="unknown numerator"):
        harness.validate(broken)
    broken = copy.deepcopy(doc)
    broken["cases"][0]["implementations"]["a"]["runs"][0]["seconds"] = float("nan")
    with pytest.raises(ValueError):
        harness.validate(broken)


def test_a_comparison_needs_target_and_direction_together() -> None:
    with pytest.raises(ValueError, match="direction"):
        harness.Comparison("x", "a", "b", target=1.0)
    with pytest.raises(ValueError, match="direction"):
        harness.Comparison("x", "a", "b", target=1.0, direction="<")


def test_the_brian2_detector_counts_this_process_compilations(tmp_path: Path, monkeypatch) -> None:
    from brian2.codegen.runtime.cython_rt.extension_manager import CythonExtensionManager

    loaded: list[str] = []
    monkeypatch.setattr(CythonExtensionManager, "_load_module", lambda manager, path, **kw: loaded.append(path))
    detector = harness.Brian2Compilations()
    before = detector.snapshot()  # installs the counting wrapper around the (fake) loader
    cached = tmp_path / "cached.so"
    cached.write_text("")
    CythonExtensionManager._load_module(None, str(cached), code="")
    assert detector.snapshot() == before
    CythonExtensionManager._load_module(None, str(tmp_path / "new.so"), code="")
    assert detector.snapshot() == before + 1
    assert detector.describe(before, before + 1) == "Brian2 cython: 1 module(s) compiled"
    assert loaded == [str(cached), str(tmp_path / "new.so")]
