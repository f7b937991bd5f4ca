# Developer entry points (README). `make dev` runs the whole system; `make test` is what CI runs.

# python3.11 when installed (the version CI uses), else whatever python3 is.
PYTHON ?= $(shell command -v python3.11 >/dev/null 2>&1 && echo python3.11 || echo python3)
VENV := .venv
# Touched after a successful install: `make venv` is a no-op until pyproject.toml changes
# (the project itself is installed editable, so code changes need no reinstall).
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.DEFAULT_GOAL := venv
.PHONY: venv dev test lint

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --upgrade pip
	$(VENV)/bin/python -m pip install -e '.[dev]'
	touch $@

dev: venv
	$(VENV)/bin/issuegraph dev

test: venv
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
