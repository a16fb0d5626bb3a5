"""spikemem.io: a recording written by ``spikemem run --out`` reads back unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spikemem.io import load_recording, save_recording
from spikemem.recording import Recording


def test_recording_round_trips_through_its_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    recording = Recording(
        dt=1e-3,
        steps=5,
        t_start=7,
        data={"exc.spikes": rng.random((5, 3)) < 0.5, "exc.v": rng.normal(size=(5, 3)), "in->exc.weights": np.eye(3)},
        backend="reference",
        numeric="fixed",
        wall_time_s=0.25,
    )
    back = load_recording(save_recording(recording, tmp_path, name="run"))
    assert (back.dt, back.steps, back.t_start, back.backend, back.numeric, back.wall_time_s) == (
        1e-3,
        5,
        7,
        "reference",
        "fixed",
        0.25,
    )
    assert sorted(back.data) == sorted(recording.data)
    for key, value in recording.data.items():
        assert back.data[key].dtype == value.dtype
        np.testing.assert_array_equal(back.data[key], value)


def test_result_files_get_the_mode_of_any_new_file(tmp_path: Path) -> None:
    from spikemem.io import write_json

    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    written = write_json(tmp_path / "result.json", {"a": 1})
    assert written.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777
