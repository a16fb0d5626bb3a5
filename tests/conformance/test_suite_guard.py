"""The conformance suite cannot pass vacuously: on CI an unavailable backend fails, locally it skips with a reason."""

from __future__ import annotations

import pytest
from backend_selection import SIMULATORS, require

from spikemem.backend import Availability, Backend, Capabilities
from spikemem.backends import _REGISTRY, backend_names


class Missing(Backend):
    name = "missing"
    capabilities = Capabilities()

    def available(self) -> Availability:
        return Availability(False, "simulator not installed")

    def _compile(self, network, numeric, options):  # pragma: no cover - never reached
        raise AssertionError


@pytest.fixture
def missing_backend():
    _REGISTRY["missing"] = f"{__name__}:Missing"
    yield
    _REGISTRY.pop("missing")


def test_unavailable_backend_fails_on_ci(missing_backend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="simulator not installed"):
        require("missing")


def test_unavailable_backend_skips_with_reason_locally(missing_backend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="simulator not installed"):
        require("missing")


def test_suite_covers_every_registered_simulator() -> None:
    assert sorted(SIMULATORS) == sorted(name for name in backend_names() if name != "reference")
