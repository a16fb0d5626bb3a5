"""One writer per run directory; user folders are not written over (spikemem.experiments.rundir)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spikemem.experiments.config import ConfigError
from spikemem.experiments.rundir import LOCK_FILE, MARKER, claimed, is_run_directory

HOLD = """
import sys, time
from spikemem.experiments.rundir import claimed
with claimed(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""


def _holder(directory: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(directory)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_new_directory_is_claimed_and_marked(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with claimed(out) as directory:
        assert directory == out
        assert (out / MARKER).is_file()
        assert (out / LOCK_FILE).read_text() == str(os.getpid())
    assert is_run_directory(out)


def test_a_second_writer_is_refused_naming_the_holder_and_a_dead_holder_is_taken_over(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = _holder(out)
    try:
        with pytest.raises(ConfigError, match=f"pid {proc.pid}"), claimed(out):
            pass
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    deadline = time.monotonic() + 5
    while True:  # the kernel releases the flock of the killed holder
        try:
            with claimed(out):
                break
        except ConfigError:
            assert time.monotonic() < deadline, "the lock of a killed run was not taken over"
            time.sleep(0.05)


def test_a_user_folder_is_refused_unless_forced(tmp_path: Path) -> None:
    user = tmp_path / "mine"
    user.mkdir()
    (user / "result.json").write_text('{"my": "data"}')
    with pytest.raises(ConfigError, match=r"not a spikemem run directory.*--force"), claimed(user):
        pass
    assert sorted(p.name for p in user.iterdir()) == ["result.json"]  # nothing written
    with claimed(user, force=True):
        pass
    assert (user / MARKER).is_file()


def test_a_file_or_an_unwritable_folder_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    with pytest.raises(ConfigError, match="is a file"), claimed(afile):
        pass
    # root writes anywhere, so the permission check is exercised through os.access
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != tmp_path)
    with pytest.raises(ConfigError, match="cannot be written"), claimed(tmp_path / "run"):
        pass
    assert not (tmp_path / "run").exists()


def test_a_directory_of_an_earlier_spikemem_version_is_a_run_directory(tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    (old / "checkpoint.json").write_text('{"identity": {}, "units": {}}')
    assert is_run_directory(old)
    with claimed(old):
        pass
