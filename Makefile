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
	$(VENV)/bin/python scripts/fetch_graphiql.py
	touch $@

dev: venv graphiql-files
	$(VENV)/bin/issuegraph dev

# GraphiQL's pinned files (React 18, GraphiQL 3, its Explorer plugin) into app/static/vendor/
# (ignored), so /graphql works offline; needs npm. `make venv` does this too when npm is
# present, and `make dev` / `make test` check it again (a no-op when every pinned file is there
# with its hash; new pins are fetched).
.PHONY: graphiql graphiql-files
graphiql: venv
	$(VENV)/bin/python scripts/fetch_graphiql.py --require

graphiql-files: venv
	$(VENV)/bin/python scripts/fetch_graphiql.py

test: venv graphiql-files clients legacy-venv
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# The Node clients of tests/test_clients.py (graphql-http's audits, Apollo Client), pinned by
# tests/clients/package-lock.json into tests/clients/node_modules (ignored). Without npm the
# client tests skip (CI sets ISSUEGRAPH_REQUIRE_CLIENT_TESTS=1: there they fail instead).
CLIENTS_STAMP := tests/clients/node_modules/.installed
.PHONY: clients

clients:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) -s --no-print-directory $(CLIENTS_STAMP); \
	else echo "npm not found: tests/test_clients.py will skip"; fi

$(CLIENTS_STAMP): tests/clients/package.json tests/clients/package-lock.json
	cd tests/clients && npm ci --no-audit --no-fund
	touch $@

# The legacy layer's own virtualenv (.venv-legacy, ignored) from its pinned
# benchmarks/legacy/requirements.txt (its Graphene needs graphql-core < 3.3; issuegraph uses
# 3.3), for tests/test_legacy_fallback.py, which runs it under gunicorn against the test
# database (docs/migration.md, "Rolling back to the legacy layer"); the load benchmarks use it
# too. Without it that test skips (CI sets ISSUEGRAPH_REQUIRE_LEGACY_TEST=1: there it fails).
LEGACY_VENV := .venv-legacy
LEGACY_STAMP := $(LEGACY_VENV)/.installed
.PHONY: legacy-venv

legacy-venv: $(LEGACY_STAMP)

$(LEGACY_STAMP): benchmarks/legacy/requirements.txt
	test -x $(LEGACY_VENV)/bin/python || $(PYTHON) -m venv $(LEGACY_VENV)
	$(LEGACY_VENV)/bin/python -m pip install --disable-pip-version-check -r $<
	touch $@

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The load benchmarks of issues #5 and #12 (benchmarks/README.md): ~15 minutes, writes
# benchmarks/results/<date>.{json,md,png} (server logs in <date>-logs/). Needs PostgreSQL and
# Redis (ISSUEGRAPH_BENCH_DATABASE_URL, an admin URL, default
# postgresql://postgres@127.0.0.1:5432/postgres; ISSUEGRAPH_BENCH_REDIS_URL), wrk, Node/npm.
# BENCH_ARGS is passed on, e.g. BENCH_ARGS="--duration 10 --reuse-db".
BENCH_STAMP := $(VENV)/.installed-bench
BENCH_ARGS ?=
# `make profile`: py-spy on `issuegraph serve` under W1 and W2, CPU by library
# (benchmarks/results/profile-<date>-<workload>.{txt,json}); needs root or ptrace rights.
# PROFILE_ARGS is passed on, e.g. PROFILE_ARGS="--seconds 10 --concurrency 16".
PROFILE_ARGS ?=
.PHONY: bench profile

$(BENCH_STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -e '.[dev,bench]'
	touch $@

bench: $(BENCH_STAMP)
	ISSUEGRAPH_BENCH_PYTHON=$${ISSUEGRAPH_BENCH_PYTHON:-$(abspath $(VENV))/bin/python} \
		$(VENV)/bin/python -m benchmarks.run $(BENCH_ARGS)

profile: $(BENCH_STAMP)
	ISSUEGRAPH_BENCH_PYTHON=$${ISSUEGRAPH_BENCH_PYTHON:-$(abspath $(VENV))/bin/python} \
		$(VENV)/bin/python -m benchmarks.profile $(PROFILE_ARGS)
