"""Errors raised for invalid model descriptions."""

from __future__ import annotations


class SpecError(ValueError):
    """A model description is invalid.

    The message always starts with the path of the offending field (for example
    ``projections['in->exc'].weights``) and says what would be valid, so that a
    user can fix the description without reading the code.

    Parameters
    ----------
    field
        Dotted path of the offending field.
    problem
        What is wrong and what would be valid instead.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class UnsupportedFeatureError(SpecError):
    """The network uses something a target cannot execute or represent (raised at compile or export time).

    Raised by a backend's ``compile`` and by the NIR export; also importable as
    ``spikemem.backend.UnsupportedFeatureError`` (the same class).
    """
