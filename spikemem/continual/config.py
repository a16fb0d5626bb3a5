"""Config tables of a continual-learning run, parsed into frozen dataclasses.

Every table of an experiment config maps onto one dataclass of this package
(``[stream]`` -> :class:`~spikemem.continual.streams.StreamConfig`, ``[hlop]``
-> :class:`~spikemem.continual.methods.hlop.HLOPConfig`, ...). The parser is
the project's one config parser, :mod:`spikemem.config` (re-exported here):
keys missing from the file take the dataclass defaults; an unknown key or a
value of the wrong type is a :class:`ConfigError` naming ``table.key`` and
what is accepted, raised before any training starts.
"""

from __future__ import annotations

from spikemem.config import ConfigError, parse_section, require

__all__ = ["ConfigError", "parse_section", "require"]
