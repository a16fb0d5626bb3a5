# The README's two commands: `make demo` and `make test`. Every target first runs
# scripts/setup_env.sh, which creates or reuses .venv (Python 3.10) with spikemem installed
# editable with all extras; when nothing changed that takes about a second.

VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup demo test lint bench

help:
	@echo "make setup   create or update .venv (Python 3.10, spikemem -e .[all,dev])"
	@echo "make demo    setup, then run the main demo (spikemem demo)"
	@echo "make test    setup, then the whole test suite: lint and pytest (PYTEST_ARGS=... to pass options)"
	@echo "make lint    setup, then ruff check, the import contracts (import-linter) and mypy"
	@echo "make bench   setup, then the backend benchmark (benchmarks/network_throughput.py; BENCH_ARGS=... to pass options)"

setup:
	@bash scripts/setup_env.sh

demo: setup
	$(BIN)/spikemem demo

# The three linters: ruff; import-linter (the layer contracts in pyproject.toml) and mypy, both run on the
# package laid out as installed (backends/ as spikemem.backends: see scripts/installed_layout.py).
# Each runs; the recipe fails if any fails.
LINT = status=0; \
	echo "$(BIN)/ruff check ."; $(BIN)/ruff check . || status=1; \
	echo "$(BIN)/python scripts/installed_layout.py lint-imports"; \
	$(BIN)/python scripts/installed_layout.py lint-imports || status=1; \
	echo "$(BIN)/python scripts/installed_layout.py mypy"; $(BIN)/python scripts/installed_layout.py mypy || status=1

# Lint and tests both run; the target fails if either fails.
test: setup
	@$(LINT); \
	echo "$(BIN)/python -m pytest -q $(PYTEST_ARGS)"; $(BIN)/python -m pytest -q $(PYTEST_ARGS) || status=1; \
	exit $$status

lint: setup
	@$(LINT); exit $$status

bench: setup
	$(BIN)/python benchmarks/network_throughput.py $(BENCH_ARGS)
