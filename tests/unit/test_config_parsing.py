"""The one config parser: typed tables, and every bad config refused, naming table.key, before anything runs."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from spikemem.backend import UnsupportedFeatureError
from spikemem.backends.brian2_backend import Brian2Options
from spikemem.backends.lava_backend import LavaOptions
from spikemem.cli import main
from spikemem.config import ConfigError, parse_section, require, unbounded
from spikemem.experiments import ExperimentContext, apply_overrides
from spikemem.experiments.backend_options import BACKEND_OPTIONS, backend_options
from spikemem.experiments.config import load_config
from spikemem.experiments.parsing import parse_run, run_schema
from spikemem.experiments.registry import KINDS, register_kind
from spikemem.spec import SpecError

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


@dataclass(frozen=True)
class Inner:
    rate: float
    mode: Literal["a", "b"] = "a"

    def check(self, table: str) -> None:
        require(self.rate > 0, f"{table}.rate", "must be > 0")


@dataclass(frozen=True)
class Outer:
    count: int
    inner: Inner
    sizes: tuple[int, ...] = (1,)
    label: str | None = None
    ranges: dict[str, float] | None = None
    tau: float = unbounded(1.0)
    flag: bool = False
    extra: Inner = field(default_factory=lambda: Inner(1.0))
    optional: Inner | None = None


def test_parse_section_builds_nested_typed_tables() -> None:
    parsed = parse_section(
        Outer,
        {"count": 3, "inner": {"rate": 2, "mode": "b"}, "sizes": [4, 5], "ranges": {"x": 1}, "tau": math.inf},
        "t",
    )
    assert parsed == Outer(3, Inner(2.0, "b"), (4, 5), None, {"x": 1.0}, math.inf, False, Inner(1.0), None)
    assert parse_section(Outer, {"count": 1, "inner": {"rate": 1}, "optional": {"rate": 3}}, "t").optional == Inner(3.0)
    assert isinstance(parsed.inner.rate, float) and isinstance(parsed.sizes, tuple)


@pytest.mark.parametrize(
    ("section", "field_name", "fragment"),
    [
        ({"count": 1, "inner": {"rate": 1.0}, "colour": 1}, "t.colour", "known keys: ['count', 'extra'"),
        ({"inner": {"rate": 1.0}}, "t.count", "missing"),
        ({"count": 1}, "t.inner", "missing"),
        ({"count": 1, "inner": {}}, "t.inner.rate", "missing"),
        ({"count": True, "inner": {"rate": 1.0}}, "t.count", "expects an integer"),
        ({"count": 1.0, "inner": {"rate": 1.0}}, "t.count", "expects an integer"),
        ({"count": 1, "inner": {"rate": math.nan}}, "t.inner.rate", "finite"),
        ({"count": 1, "inner": {"rate": -1.0}}, "t.inner.rate", "must be > 0"),
        ({"count": 1, "inner": {"rate": 1.0, "mode": "c"}}, "t.inner.mode", "one of 'a', 'b'"),
        ({"count": 1, "inner": 3}, "t.inner", "must be a table"),
        ({"count": 1, "inner": {"rate": 1.0}, "sizes": [1, "x"]}, "t.sizes", "a list, each item an integer"),
        ({"count": 1, "inner": {"rate": 1.0}, "ranges": {"x": math.inf}}, "t.ranges", "finite"),
        ({"count": 1, "inner": {"rate": 1.0}, "flag": 1}, "t.flag", "true or false"),
        ({"count": 1, "inner": {"rate": 1.0}, "optional": {"rate": 0.0}}, "t.optional.rate", "must be > 0"),
    ],
)
def test_parse_section_names_the_bad_key(section: dict, field_name: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_section(Outer, section, "t")
    assert info.value.field == field_name and fragment in str(info.value)


def test_backend_options_keep_their_compile_time_errors_and_name_the_config_table() -> None:
    with pytest.raises(UnsupportedFeatureError) as info:
        Brian2Options.parse({"target": "genn"})
    assert info.value.field == "options.target"
    with pytest.raises(SpecError) as info:
        LavaOptions.parse({"batch_trials": 0})
    assert type(info.value) is SpecError and info.value.field == "options.batch_trials"
    with pytest.raises(ConfigError) as info:
        backend_options({"lava": {"batch_trials": 0}}, "reference")
    assert info.value.field == "backend_options.lava.batch_trials"
    assert backend_options({"lava": {"timeout_s": 60}, "brian2": {"target": "numpy"}}, "lava") == {"timeout_s": 60.0}


def test_option_types_import_no_simulator() -> None:
    code = (
        "import sys\n"
        "from spikemem.experiments.backend_options import BACKEND_OPTIONS, options_type\n"
        "[options_type(name) for name in BACKEND_OPTIONS]\n"
        "print([m for m in ('brian2', 'torch', 'snntorch', 'lava') if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
    assert set(BACKEND_OPTIONS) == {"reference", "brian2", "snntorch", "lava"}


def test_a_negative_seed_on_the_command_line_is_refused(tmp_path: Path, capsys) -> None:
    assert main(["run", str(EXPERIMENTS / "hopfield_recall.toml"), "--seed", "-2", "--out", str(tmp_path / "o")]) == 2
    assert "--seed: must be an integer >= 0" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_overrides_are_typed_by_the_schema_and_may_name_keys_absent_from_the_file() -> None:
    config = load_config(EXPERIMENTS / "hopfield_recall.toml")
    schema, complete = run_schema("hopfield_recall")
    assert complete
    out = apply_overrides(
        config,
        ["model.load=1", "backend_options.lava.timeout_s=60", "recall.basin_noise=[0.1]", "output.plots=false"],
        schema,
        strict=True,
    )
    assert out["model"]["load"] == 1.0 and isinstance(out["model"]["load"], float)
    assert out["backend_options"] == {"lava": {"timeout_s": 60.0}}
    assert out["recall"]["basin_noise"] == [0.1] and out["output"]["plots"] is False
    assert "backend_options" not in config, "the config read is left as it was"
    run = parse_run(config, ["backend_options.lava.timeout_s=60"], "lava", None)
    assert run.backend_options == {"timeout_s": 60.0} and run.config["experiment"]["backend"] == "lava"


def _with(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _before(marker: str, text: str) -> tuple[str, str]:
    """The edit that inserts ``text`` before the line ``marker``."""
    return marker, f"{text}\n{marker}"


RECALL = "hopfield_recall"
BAD_CONFIGS = [
    # (config, (old, new) text edit of the file or None, --set overrides, field named, fragment of the message)
    (RECALL, ("neurons = 1000", "neurons = 1000\nneuron = 5"), [], "model.neuron", "known keys"),
    (RECALL, ("neurons = 1000\n", ""), [], "model.neurons", "missing"),
    (RECALL, ("neurons = 1000", "neurons = 100.5"), [], "model.neurons", "expects an integer"),
    (RECALL, ("load = 0.10", "load = nan"), [], "model.load", "finite"),
    (RECALL, ("load = 0.10", "load = -0.1"), [], "model.load", "> 0"),
    (RECALL, ("cue_noise = 0.10", "cue_noise = 1.5"), [], "recall.cue_noise", "[0, 1]"),
    (RECALL, ("seed = 0", "seed = -1"), [], "experiment.seed", ">= 0"),
    (RECALL, None, ["recall.cues=-1"], "recall.cues", ">= 0"),
    (RECALL, ("[output]", "[outputs]"), [], "outputs", "known tables"),
    (RECALL, _before("[model]", "[experiment.backend_options]\nseed = 1"), [], "experiment.backend_options", "known"),
    (RECALL, None, ["backend_options.nest.x=1"], "backend_options.nest.x", "known tables"),
    (RECALL, _before("[output]", "[backend_options.lava]\ntimeout_s = 0"), [], "backend_options.lava", "positive"),
    (RECALL, _before("[output]", '[backend_options.brian2]\ntarget = "genn"'), [], "backend_options.brian2", "one of"),
    (RECALL, _before("[output]", "[backend_options.nest]\nx = 1"), [], "backend_options.nest", "unknown backend"),
    (RECALL, _before("[output]", "[backend_options.reference]\nx = 1"), [], "backend_options.reference.x", "no"),
    (RECALL, None, ["model.nope=1"], "model", "known keys"),
    (RECALL, None, ["stdp.gap=3"], "stdp", "known tables"),
    (RECALL, None, ["experiment.kind=multitask"], "experiment.kind", "cannot be overridden"),
    (RECALL, None, ["experiment.numeric=fixed", "experiment.backend=brian2"], "experiment.numeric", "brian2"),
    ("hopfield_capacity", None, ["recall.loads=[]"], "recall.loads", "at least one"),
    ("hopfield_capacity", None, ["dynamics.updates=0"], "dynamics.updates", ">= 1"),
    ("dense_memory", None, ["dynamics.updates=3"], "dynamics", "known tables"),
    ("dense_memory", None, ["model.patterns=0"], "model.patterns", ">= 1"),
    ("multitask", None, ["model.dilutions=[1.0]"], "model.dilutions", "[0, 1)"),
    ("multitask", None, ["experiment.batching=sideways"], "experiment.batching", "one of"),
    ("learn_from_examples", None, ["model.quality=0.0"], "model.quality", "(0, 1]"),
    ("learn_from_examples", None, ["model.examples=[0]"], "model.examples", ">= 1"),
    ("stdp_storage", None, ["stdp.tau_pre=inf"], "stdp.tau_pre", "finite"),
    ("stdp_storage", ("gap = 30", "gap = 30\ngaps = 1"), [], "stdp.gaps", "known keys"),
    ("pdigits_hlop", ("lr = 0.2", "lr = nan"), [], "training.lr", "finite"),
    ("pdigits_hlop", None, ["hlop.iteration=2"], "hlop", "known keys"),
    ("pdigits_hlop", None, ["experiment.batching=auto"], "experiment.batching", "known keys"),
    ("pdigits_hlop", ("[hlop]", "[gpm]\nthreshold = [2.0]\n[hlop]"), [], "gpm.threshold", "(0, 1]"),
    ("pdigits_hlop", ("[hlop]", "[hlops]\n[hlop]"), [], "hlops", "known tables"),
    ("local_pdigits_hlop", None, ["network.hidden=0"], "network.hidden", ">= 1"),
    ("local_pdigits_hlop", None, ["local.method=gpm"], "local.method", "one of"),
    ("local_pdigits_hlop", ("seed = 0", "seed = 0\nbatching = 'auto'"), [], "experiment.batching", "known keys"),
]


@pytest.mark.parametrize(("config", "edit", "extra", "field_name", "fragment"), BAD_CONFIGS)
def test_bad_configs_are_refused_before_anything_is_written(
    config: str, edit: tuple[str, str] | None, extra: list[str], field_name: str, fragment: str, tmp_path: Path, capsys
) -> None:
    path = EXPERIMENTS / f"{config}.toml"
    if edit is not None:
        path = tmp_path / f"{config}.toml"
        path.write_text(_with((EXPERIMENTS / f"{config}.toml").read_text(), *edit))
    argv = ["run", str(path), "--out", str(tmp_path / "out")]
    for item in extra:
        argv += ["--set", item]
    if config.startswith("pdigits"):
        argv += ["--backend", "snntorch"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    message = err.removeprefix("spikemem run: error: ").removeprefix("--set ")
    assert message.startswith(field_name) and fragment in message, err
    assert not (tmp_path / "out").exists(), "nothing is written for a bad config"


@dataclass(frozen=True)
class WorkTable:
    units: int = 2


@dataclass(frozen=True)
class WorkSettings:
    work: WorkTable = field(default_factory=WorkTable)


SEEN: list[ExperimentContext] = []


def recording(ctx: ExperimentContext) -> dict:
    SEEN.append(ctx)
    return {"units": ctx.settings.work.units}


def test_the_context_carries_the_parsed_settings_numeric_and_chosen_backend_options(tmp_path: Path) -> None:
    register_kind("recording", f"{__name__}:recording", f"{__name__}:WorkSettings")
    try:
        path = tmp_path / "rec.toml"
        path.write_text(
            '[experiment]\nkind = "recording"\nnumeric = "fixed"\n'
            '[backend_options.lava]\ntimeout_s = 30\n[backend_options.brian2]\ntarget = "numpy"\n'
        )
        SEEN.clear()
        assert main(["run", str(path), "--backend", "lava", "--out", str(tmp_path / "o"), "--set", "work.units=5"]) == 0
        ctx = SEEN[0]
        assert ctx.settings == WorkSettings(WorkTable(5)) and ctx.numeric == "fixed"
        assert ctx.backend_options == {"timeout_s": 30.0}
        assert json.loads((tmp_path / "o" / "result.json").read_text())["metrics"] == {"units": 5}
    finally:
        KINDS.pop("recording", None)
