"""The shared evaluation suite: metrics and plots computed from recordings and predictions only.

Nothing here imports a simulator or calls a backend's internals: every
backend is scored by the same code (associative-memory metrics in
:mod:`spikemem.evaluation.memory`, continual-learning metrics in
:mod:`spikemem.evaluation.continual`).

Layer: this package imports only the spec, the recordings and the small shared
modules (``io``, ``tables``). The models above it use it, never the other way
round: :mod:`spikemem.memory` decodes recalls with :mod:`spikemem.evaluation.memory`,
:mod:`spikemem.continual` scores tasks with :mod:`spikemem.evaluation.continual`.
"""
