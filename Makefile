# The README's commands: `make demo` runs the demo on the embedded store, `make test` the tests.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo demo-no-ui test lint bench eval install system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian Chromium for the browser tests (never a downloaded browser build).
system-deps:
	bash scripts/install-system-deps.sh

demo: $(STAMP)
	$(VENV)/bin/cityradar demo

demo-no-ui: $(STAMP)
	$(VENV)/bin/cityradar demo --no-ui

test: $(STAMP) system-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q -ra

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

eval: $(STAMP)
	$(VENV)/bin/cityradar eval all

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache artifacts
