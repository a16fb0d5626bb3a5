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
	@echo "make test    setup, then the whole test suite: ruff check and pytest (PYTEST_ARGS=... to pass options)"
	@echo "make lint    setup, then ruff check"
	@echo "make bench   setup, then the backend benchmark (benchmarks/network_throughput.py; BENCH_ARGS=... to pass options)"

setup:
	@bash scripts/setup_env.sh

demo: setup
	$(BIN)/spikemem demo

# Lint and tests both run; the target fails if either fails.
test: setup
	@status=0; \
	echo "$(BIN)/ruff check ."; $(BIN)/ruff check . || status=1; \
	echo "$(BIN)/python -m pytest -q $(PYTEST_ARGS)"; $(BIN)/python -m pytest -q $(PYTEST_ARGS) || status=1; \
	exit $$status

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python benchmarks/network_throughput.py $(BENCH_ARGS)
