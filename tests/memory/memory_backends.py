"""Backend selection of the associative-memory tests (see ``tests/backend_selection.py``)."""

from __future__ import annotations

from backend_selection import BACKENDS, TEST_OPTIONS, require

__all__ = ["BACKENDS", "TEST_OPTIONS", "require"]
