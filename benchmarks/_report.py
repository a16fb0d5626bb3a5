"""What the throughput benchmarks write: the machine they ran on, and the JSON document (atomically)."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

from spikemem.io import write_json


def machine() -> dict[str, str]:
    """Python version, processor and operating system of this run."""
    return {"python": platform.python_version(), "processor": platform.processor(), "system": platform.system()}


def write_document(out: Path, document: dict[str, Any]) -> None:
    """Write ``document`` (plus ``machine``) to ``out`` as JSON and say so."""
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, {**document, "machine": machine()})
    print(f"wrote {out}")
