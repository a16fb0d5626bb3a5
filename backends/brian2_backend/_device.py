"""One C++ standalone program built on a private Brian2 device (the device and its preferences are global).

Both standalone models (:mod:`._standalone`: one run; :mod:`._standalone_batch`: a batch) create their
Brian2 objects inside :func:`standalone_program`, which sets a fresh ``CPPStandaloneDevice`` for the
block only, so the runtime targets of other simulations in the process are unaffected.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from brian2 import prefs
from brian2.devices.cpp_standalone.device import CPPStandaloneDevice
from brian2.devices.device import reset_device, set_device

OPENMP_PREF = "devices.cpp_standalone.openmp_threads"


@contextmanager
def standalone_program(directory: str, run: bool, openmp_threads: int = 0) -> Iterator[Any]:
    """Generate and compile the program of the Brian2 objects the block creates; yields its device.

    The block creates the objects and calls their ``Network.run`` (which, with ``build_on_run=False``, only
    records the run). When it ends without error the project is generated in ``directory`` and compiled,
    and run once if ``run``; later runs are ``device.run(directory=..., run_args=...)`` on the yielded device.
    Brian2's device and its OpenMP preference are set back in every case.

    Parameters
    ----------
    directory
        Project directory of the program.
    run
        Run the program once after compiling it (its results are then readable from the objects).
    openmp_threads
        Brian2's ``devices.cpp_standalone.openmp_threads`` for this program (0: no OpenMP).
    """
    device = CPPStandaloneDevice()
    previous = prefs[OPENMP_PREF]
    prefs[OPENMP_PREF] = int(openmp_threads)
    set_device(device, build_on_run=False)
    try:
        yield device
        device.build(directory=directory, compile=True, run=run, with_output=False)
    finally:
        reset_device()
        prefs[OPENMP_PREF] = previous
