"""Lava fixed point matches the integer reference (spikemem.fixed_point) bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from backend_selection import require
from cases import SPIKING_CASES, STEPS

from spikemem.backend import Backend

FIXED_POINT_BACKENDS = ["lava"]


@pytest.mark.parametrize("name", FIXED_POINT_BACKENDS)
@pytest.mark.parametrize("case", sorted(SPIKING_CASES))
def test_fixed_point_is_bit_exact(name: str, reference: Backend, case: str) -> None:
    backend = require(name)
    with reference.compile(SPIKING_CASES[case](), numeric="fixed") as ref:
        expected = ref.run(STEPS)
    with backend.compile(SPIKING_CASES[case](), numeric="fixed") as sim:
        got = sim.run(STEPS)
    assert sorted(got.data) == sorted(expected.data)
    for key, want in expected.data.items():
        have = np.asarray(got.data[key])
        assert have.dtype.kind == want.dtype.kind, key
        np.testing.assert_array_equal(have, want, err_msg=key)
    spikes = [v for k, v in expected.data.items() if k.endswith(".spikes") and not k.startswith(("in.", "noise."))]
    assert sum(int(s.sum()) for s in spikes) > 10, "the case must spike in fixed point too"


def test_every_fixed_point_backend_is_covered() -> None:
    from spikemem.backends import backend_names, get_backend

    claiming = [n for n in backend_names() if n != "reference" and "fixed" in get_backend(n).capabilities.numeric]
    assert sorted(claiming) == sorted(FIXED_POINT_BACKENDS)
