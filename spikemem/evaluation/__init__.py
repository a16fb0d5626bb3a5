"""The shared evaluation suite: metrics and plots computed from recordings and predictions only.

Nothing here imports a simulator or calls a backend's internals: every
backend is scored by the same code. Layer: it imports only the spec, the
recordings and the small shared modules (``io``, ``tables``), and the models
above it use it (:mod:`spikemem.memory` decodes recalls with
:mod:`spikemem.evaluation.memory`, :mod:`spikemem.continual` scores tasks with
:mod:`spikemem.evaluation.continual`); it imports neither of them (associative-memory metrics in
:mod:`spikemem.evaluation.memory`, continual-learning metrics in
:mod:`spikemem.evaluation.continual`).
"""
