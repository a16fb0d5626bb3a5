"""Array-namespace helper so that shared step functions run on numpy arrays and torch tensors alike."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np


def namespace(array: Any) -> ModuleType:
    """``numpy`` for numpy arrays, ``torch`` for torch tensors (imported only then)."""
    if type(array).__module__.startswith("torch"):
        import torch

        return torch
    return np
