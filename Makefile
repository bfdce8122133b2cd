# The two commands: `make run` and `make test`. Both create .venv and install on first use.
PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
UV_VERSION ?= 0.13.9
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install run test lint format typecheck pytest migrate schema clean fuzz audit bench

$(STAMP): pyproject.toml uv.lock
	@test -x $(BIN)/python || $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11 or newer is needed (set PYTHON=...)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv sync --frozen --all-extras --inexact
	@touch $(STAMP)

install: $(STAMP)

run: install
	ENVIRONMENT=$${ENVIRONMENT:-development} LOG_FORMAT=$${LOG_FORMAT:-console} \
		$(BIN)/phiacta serve --host $(HOST) --port $(PORT)

test: install lint typecheck pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install
	$(BIN)/mypy --strict phiacta

pytest: install
	$(BIN)/pytest -q

migrate: install
	$(BIN)/phiacta migrate upgrade head

schema: install
	$(BIN)/phiacta export-schema schema.graphql

clean:
	-@test -x $(BIN)/python && $(BIN)/python -c 'from phiacta.config import load_settings; \
		from phiacta.db.runtime import embedded_server; embedded_server(load_settings()).stop()'
	rm -rf $(VENV) .phiacta .mypy_cache .ruff_cache .pytest_cache bench/results
