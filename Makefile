# The two commands: `make run` and `make test`. Both create .venv and install on first use.
PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
UV_VERSION ?= 0.13.9
IMAGE ?= phiacta:latest
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install run demo vendor-graphiql test lint format typecheck pytest migrate schema clean fuzz audit bench bench-quick wrk \
	backup restore refresh-views docker-build docker-build-dev docker-build-test \
	docker-build-prod docker-test up up-debug rebuild down scan pytest-pgbouncer

$(STAMP): pyproject.toml uv.lock
	@test -x $(BIN)/python || $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11 or newer is needed (set PYTHON=...)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv sync --frozen --all-extras --inexact
	@touch $(STAMP)

install: $(STAMP)

run: install
	@echo "Phiacta on http://$(HOST):$(PORT)/graphql (GraphiQL in a browser)."
	@echo "Empty graph? In another terminal: make demo   (about 200 claims to explore; run it again any time)"
	ENVIRONMENT=$${ENVIRONMENT:-development} LOG_FORMAT=$${LOG_FORMAT:-console} \
		$(BIN)/phiacta serve --host $(HOST) --port $(PORT)

# The demo graph: idempotent, so safe to run while `make run` serves the same folder.
demo: install
	ENVIRONMENT=$${ENVIRONMENT:-development} LOG_FORMAT=$${LOG_FORMAT:-console} $(BIN)/phiacta demo

# GraphiQL's JavaScript and CSS, fetched with npm pack at pinned versions (needs npm).
vendor-graphiql: install
	$(BIN)/python -m phiacta.graphiql.vendor

test: install lint typecheck pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install
	$(BIN)/mypy --strict phiacta

# One test process per core (at most 4), each with its own embedded PostgreSQL; a test
# module runs whole in one process, so its database and servers are made once.
PYTEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -gt 4 ] && n=4; echo $$n)
PYTEST := $(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile

pytest: install
	$(PYTEST)
	@$(MAKE) --no-print-directory pytest-pgbouncer

# Every test that reaches PostgreSQL (the HTTP suite, in-process and `phiacta serve`
# servers) again, through PgBouncer in transaction mode (tests/pgbouncer.py, conftest.py).
PGBOUNCER_MISSING := PgBouncer is not installed: tests/test_pooler.py and the suite's \
	second pass through PgBouncer (PHIACTA_TEST_POOLER=pgbouncer) did not run; \
	apt-get install pgbouncer (Debian/Ubuntu) to run them
# Debian puts the binary in /usr/sbin, outside a user's PATH.
PGBOUNCER_PATHS ?= /usr/sbin/pgbouncer /usr/bin/pgbouncer
pytest-pgbouncer: install
	@if command -v pgbouncer >/dev/null 2>&1 || $(foreach p,$(PGBOUNCER_PATHS),test -x $(p) ||) false; then \
		echo "The suite through PgBouncer (transaction pooling):"; \
		PHIACTA_TEST_POOLER=pgbouncer $(PYTEST); \
	else echo "$(PGBOUNCER_MISSING)"; fi

# Schemathesis (GraphQL mode) against a live server: 15 examples per root field, 500+
# operations in all, and 2,000 hostile ones (fragment spreads, float page sizes, control
# characters, deep JSON); `make test` runs the same tests with 2 per field and 120.
fuzz: install
	PHIACTA_FUZZ_EXAMPLES=15 PHIACTA_FUZZ_MIN_OPERATIONS=500 PHIACTA_FUZZ_HOSTILE_OPERATIONS=2000 \
		$(BIN)/pytest -q -s tests/test_fuzz.py

# Benchmarks (bench/suite.py): graphs of 10k, 100k and 1M claims, or 10k for the quick run
# (under 5 minutes); results, a Markdown report and plots in bench/results/.
bench: install wrk
	$(BIN)/python -m bench.suite --claims 10000 100000 1000000

bench-quick: install wrk
	$(BIN)/python -m bench.suite --claims 10000 --iterations 50 --subscribers 100

# wrk, the load generator of the throughput figures, from Debian when missing (without
# it the suite measures throughput with its Python client only).
wrk:
	@command -v wrk >/dev/null || (command -v apt-get >/dev/null && \
		(apt-get install -y -q wrk || (apt-get update -q && apt-get install -y -q wrk))) || \
		echo "wrk is not installed: throughput measured by the Python client only"

migrate: install
	$(BIN)/phiacta migrate upgrade head

schema: install
	$(BIN)/phiacta export-schema schema.graphql

# ── Operations (the deployment guide's quick reference) ─────────────────────────
# Backups use DATABASE_URL, or the embedded server when it is unset.
backup: install
	$(BIN)/phiacta backup $(FILE)

restore: install
	@test -n "$(FILE)" || { echo "usage: make restore FILE=backup.dump"; exit 2; }
	$(BIN)/phiacta restore $(FILE)

refresh-views: install
	$(BIN)/phiacta refresh-views

audit: install
	$(BIN)/pip-audit --skip-editable

docker-build: docker-build-dev docker-build-test docker-build-prod

docker-build-dev:
	docker build --target development -t phiacta:dev .

docker-build-test:
	docker build --target test -t phiacta:test .

docker-build-prod:
	docker build --target production -t $(IMAGE) .

docker-test: docker-build-test
	docker run --rm phiacta:test

up:
	docker compose up

up-debug:
	docker compose --profile debug up

rebuild:
	docker compose build backend

down:
	docker compose down

# Scans the production image when trivy is installed; says so and succeeds otherwise.
scan:
	@if command -v trivy >/dev/null 2>&1; then trivy image $(IMAGE); \
	else echo "trivy is not installed: skipping the image scan (https://trivy.dev)"; fi

clean:
	-@test -x $(BIN)/python && $(BIN)/python -c 'from phiacta.config import load_settings; \
		from phiacta.db.runtime import embedded_server; embedded_server(load_settings()).stop()'
	rm -rf $(VENV) .phiacta .mypy_cache .ruff_cache .pytest_cache bench/results
