# `make app` sets up .venv (if missing or stale) and starts the app; `make test` sets up and runs
# every test. Nothing depends on what the machine had installed before.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# glibc malloc tunables: ~2x faster CPU training and steadier latency (see mnas_core/runtime.py).
export GLIBC_TUNABLES := glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967296

.PHONY: setup app test demo

$(STAMP): requirements.txt requirements-test.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.txt -r requirements-test.txt -c constraints.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

setup: $(STAMP)

demo: setup
	$(BIN)/mnas space
	$(BIN)/mnas profile mnasnet_a1

app: setup
	$(BIN)/mnas app $(if $(PORT),--port $(PORT))

test: setup
	$(BIN)/python -m pytest
