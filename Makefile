# Developer entry points (README). `make dev` runs the whole system; `make test` is what CI runs.

# python3.11 when installed (the version CI uses), else whatever python3 is.
PYTHON ?= $(shell command -v python3.11 >/dev/null 2>&1 && echo python3.11 || echo python3)
VENV := .venv
# Pinned installs (docs/operations.md, "Pinned installs"): requirements/dev.lock holds every
# package of `.[dev,bench]` at an exact version with PyPI's sha256 hashes, for CPython 3.11+ on
# any platform; `make venv` installs exactly that, then the project itself without dependencies
# (editable, so code changes need no reinstall). It needs nothing but Python and pip, and re-runs
# when the lock or pyproject.toml changes (touched after a successful install). `make lock`
# rewrites the locks.
STAMP := $(VENV)/.installed
LOCK := requirements/dev.lock
PYTEST_ARGS ?=

.DEFAULT_GOAL := venv
.PHONY: venv dev test lint

venv: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --upgrade pip
	$(VENV)/bin/python -m pip install --require-hashes -r $(LOCK)
	$(VENV)/bin/python -m pip install --no-deps -e .
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

# The legacy layer's own virtualenv (.venv-legacy, ignored), installed like .venv from a hashed
# lock, benchmarks/legacy/requirements.lock, of its benchmarks/legacy/requirements.txt (its
# Graphene needs graphql-core < 3.3; issuegraph uses 3.3), for tests/test_legacy_fallback.py,
# which runs it under gunicorn against the test database (docs/migration.md, "Rolling back to
# the legacy layer"); the load benchmarks use it too. Without it that test skips (CI sets
# ISSUEGRAPH_REQUIRE_LEGACY_TEST=1: there it fails).
LEGACY_VENV := .venv-legacy
LEGACY_STAMP := $(LEGACY_VENV)/.installed
LEGACY_REQUIREMENTS := benchmarks/legacy/requirements.txt
LEGACY_LOCK := benchmarks/legacy/requirements.lock
.PHONY: legacy-venv

legacy-venv: $(LEGACY_STAMP)

$(LEGACY_STAMP): $(LEGACY_LOCK)
	test -x $(LEGACY_VENV)/bin/python || $(PYTHON) -m venv $(LEGACY_VENV)
	$(LEGACY_VENV)/bin/python -m pip install --disable-pip-version-check --require-hashes -r $<
	touch $@

# `make lock`: both locks re-resolved from scratch (the old locks are not read, so a merge
# conflict in one is settled by running this) by uv, pinned below, installed into .venv, against
# https://pypi.org/simple alone (no uv config, no mirror: the hashes are the ones PyPI serves),
# for CPython 3.11+ on every platform (--universal: markers where the answer differs). It takes
# what PyPI had at LOCK_AS_OF (default: now) and writes that instant into each lock's header, so
# the header's command reproduces the file byte for byte: after a merge that adds dependencies,
# `make lock LOCK_AS_OF=<the header's>` adds them and changes nothing else; plain `make lock`
# also moves everything to the newest releases.
UV_VERSION := 0.13.9
ifndef LOCK_AS_OF
LOCK_AS_OF := $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
endif
UV_COMPILE = env -u UV_INDEX -u UV_INDEX_URL -u UV_DEFAULT_INDEX -u UV_EXTRA_INDEX_URL \
	-u UV_FIND_LINKS -u UV_CONSTRAINT -u UV_OVERRIDE -u UV_EXCLUDE -u UV_RESOLUTION \
	-u UV_PRERELEASE -u UV_EXCLUDE_NEWER -u UV_CUSTOM_COMPILE_COMMAND \
	$(VENV)/bin/uv --no-config pip compile --quiet --no-progress --upgrade --universal \
	--python-version 3.11 --generate-hashes --default-index https://pypi.org/simple \
	--exclude-newer $(LOCK_AS_OF) --custom-compile-command "make lock LOCK_AS_OF=$(LOCK_AS_OF)"
.PHONY: lock

lock:
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/uv --version 2>/dev/null | grep -qx 'uv $(UV_VERSION)' \
		|| $(VENV)/bin/python -m pip install --quiet 'uv==$(UV_VERSION)'
	$(UV_COMPILE) pyproject.toml --extra dev --extra bench -o $(LOCK)
	$(UV_COMPILE) $(LEGACY_REQUIREMENTS) -o $(LEGACY_LOCK)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The load benchmarks of issues #5 and #12 (benchmarks/README.md): ~15 minutes, writes
# benchmarks/results/<date>.{json,md,png} (server logs in <date>-logs/). Needs PostgreSQL and
# Redis (ISSUEGRAPH_BENCH_DATABASE_URL, an admin URL, default
# postgresql://postgres@127.0.0.1:5432/postgres; ISSUEGRAPH_BENCH_REDIS_URL), wrk, Node/npm.
# BENCH_ARGS is passed on, e.g. BENCH_ARGS="--duration 10 --reuse-db".
BENCH_ARGS ?=
# `make profile`: py-spy on `issuegraph serve` under W1 and W2, CPU by library
# (benchmarks/results/profile-<date>-<workload>.{txt,json}); needs root or ptrace rights.
# PROFILE_ARGS is passed on, e.g. PROFILE_ARGS="--seconds 10 --concurrency 16".
PROFILE_ARGS ?=
# `make compare`: the servers up at once, load turns interleaved, ratios paired by round
# (benchmarks/compare.py; results/compare-<date>.{json,md}). COMPARE_ARGS is passed on, e.g.
# COMPARE_ARGS="--rounds 7 --baseline ../other-checkout".
COMPARE_ARGS ?=
.PHONY: bench profile compare

bench: venv
	ISSUEGRAPH_BENCH_PYTHON=$${ISSUEGRAPH_BENCH_PYTHON:-$(abspath $(VENV))/bin/python} \
		$(VENV)/bin/python -m benchmarks.run $(BENCH_ARGS)

compare: venv legacy-venv
	ISSUEGRAPH_BENCH_PYTHON=$${ISSUEGRAPH_BENCH_PYTHON:-$(abspath $(VENV))/bin/python} \
		$(VENV)/bin/python -m benchmarks.compare $(COMPARE_ARGS)

profile: venv
	ISSUEGRAPH_BENCH_PYTHON=$${ISSUEGRAPH_BENCH_PYTHON:-$(abspath $(VENV))/bin/python} \
		$(VENV)/bin/python -m benchmarks.profile $(PROFILE_ARGS)
