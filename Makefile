# The README's commands: `make demo` runs the demo on the embedded store, `make test` the tests.
# `make demo` installs only what the demo needs (the runtime dependencies of pyproject.toml);
# `make test` adds the dev extra (pytest, ruff, playwright, the Elasticsearch emulator, torch
# and transformers for the optional model backends).
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: demo demo-no-ui test lint bench eval install install-dev system-deps clean

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[dev]'
	touch $(DEV_STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

# Debian Chromium for the browser tests (never a downloaded browser build).
system-deps:
	bash scripts/install-system-deps.sh

demo: $(STAMP)
	$(VENV)/bin/cityradar demo

demo-no-ui: $(STAMP)
	$(VENV)/bin/cityradar demo --no-ui

test: $(DEV_STAMP) system-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q -ra

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .

bench: $(DEV_STAMP)
	$(PY) benchmarks/run_all.py

eval: $(STAMP)
	$(VENV)/bin/cityradar eval all

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache artifacts build cityradar.egg-info
