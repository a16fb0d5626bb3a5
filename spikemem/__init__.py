"""spikemem: spiking neural networks with Hebbian plasticity, one model description, many simulators.

Importing spikemem needs only numpy; simulators are imported by their
backends when used (see :mod:`spikemem.backends`).
"""

from spikemem.spec import SpecError

__version__ = "0.1.0"

__all__ = ["SpecError", "__version__"]
