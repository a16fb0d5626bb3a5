"""The shared evaluation suite: metrics and plots computed from recordings and predictions only.

Nothing here imports a simulator or calls a backend's internals: every
backend is scored by the same code (associative-memory metrics in
:mod:`spikemem.evaluation.memory`, continual-learning metrics in
:mod:`spikemem.evaluation.continual`).
"""
