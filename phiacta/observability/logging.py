"""Logging: structlog and the standard library through one formatter, configured once.

Every line carries `timestamp` (ISO 8601, UTC), `level`, `event`, `logger` and
`request_id` (bound per request by `AccessLogMiddleware`; null outside a request).
`LOG_FORMAT=json` writes one JSON object per line to stdout; `console` writes coloured
human-readable lines. uvicorn's and alembic's standard-library records go through the
same processors, so they are JSON too. Secrets are redacted from every line, whichever
logger wrote it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Mapping
from typing import TextIO

import orjson
import structlog
from structlog.types import EventDict, Processor, WrappedLogger

from phiacta.config import Settings

AUDIT_LOGGER = "phiacta.audit"
SQL_LOGGER = "phiacta.sql"
REDACTED = "[REDACTED]"

# Keys whose value is a secret wherever they appear (compared lower-cased, with '-'
# read as '_'), so `headers={"authorization": ...}` never reaches a log store.
SECRET_KEYS = frozenset(
    {
        "authorization",
        "proxy_authorization",
        "cookie",
        "set_cookie",
        "password",
        "passwd",
        "secret",
        "token",
        "access_token",
        "refresh_token",
        "api_key",
        "apikey",
        "raw_key",
        "x_api_key",
        "openai_api_key",
        "api_key_salt",
        "pgpassword",
    }
)

# Secrets that can hide inside any string: bearer credentials, Phiacta and OpenAI keys,
# and the password of a connection URL.
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), rf"\1 {REDACTED}"),
    (re.compile(r"\bphk_[A-Za-z0-9._-]+"), f"phk_{REDACTED}"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), f"sk-{REDACTED}"),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]*):[^\s@/]*@"), rf"\1:{REDACTED}@"),
    (re.compile(r"(?i)\b(password\s*=\s*)('[^']*'|\S+)"), rf"\1{REDACTED}"),
)

# Libraries that are chatty at DEBUG and say nothing an operator of Phiacta needs.
_QUIET_AT_DEBUG = ("asyncio", "httpcore", "httpx", "openai", "multipart", "websockets")

_HANDLER_NAME = "phiacta"


# Any of the patterns above, to tell in one scan that a string holds none of them (the
# usual case: every line is redacted, and most of its values are short and plain).
_ANY_SECRET = re.compile(
    "|".join(
        # A pattern's leading (?i) becomes a scoped flag: global flags must come first.
        f"(?i:{p[4:]})" if p.startswith("(?i)") else f"(?:{p})"
        for p in (pattern.pattern for pattern, _ in _SECRET_PATTERNS)
    )
)


def redact_text(text: str) -> str:
    """`text` with every recognisable secret replaced by [REDACTED]."""
    if _ANY_SECRET.search(text) is None:
        return text
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and key.lower().replace("-", "_") in SECRET_KEYS


def _redact(value: object, depth: int = 0) -> object:
    # The depth bound keeps a self-referencing structure from recursing forever.
    if depth > 8:
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            k: REDACTED if _is_secret_key(k) else _redact(v, depth + 1) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [
            # Header lists come as (name, value) pairs.
            (pair[0], REDACTED)
            if isinstance(pair, tuple) and len(pair) == 2 and _is_secret_key(_as_text(pair[0]))
            else _redact(pair, depth + 1)
            for pair in value
        ]
    if isinstance(value, bytes):
        return redact_text(value.decode("utf-8", "replace"))
    return value


def _as_text(value: object) -> object:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def redact_secrets(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """structlog processor: blank secret-named keys, scrub secrets out of every string."""
    for key in list(event_dict):
        if key.startswith("_"):
            continue
        value = event_dict[key]
        event_dict[key] = REDACTED if _is_secret_key(key) else _redact(value)
    return event_dict


_WEBSOCKETS_PACKAGE = f"{os.sep}websockets{os.sep}"


def _no_frame_lines(record: logging.LogRecord) -> bool:
    """Drop the websockets library's debug lines, whatever logger it was given (uvicorn
    hands it `uvicorn.error`): they show frames, cut short, and a cut-off key in a
    connection_init frame is past any redaction."""
    return record.levelno >= logging.INFO or _WEBSOCKETS_PACKAGE not in record.pathname


def _ensure_request_id(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    event_dict.setdefault("request_id", None)
    return event_dict


def _shared_processors() -> list[Processor]:
    """Run on every line, structlog's and the standard library's alike."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _ensure_request_id,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.StackInfoRenderer(),
    ]


def _json_line(event_dict: EventDict, **_: object) -> str:
    # orjson: rendering is most of the cost of a log line, and there is one per request.
    try:
        return orjson.dumps(event_dict, default=str).decode()
    except TypeError:  # keys that are not strings, integers beyond 64 bits
        return json.dumps(event_dict, default=str)


def _renderer_chain(log_format: str, colors: bool) -> list[Processor]:
    if log_format == "json":
        return [
            structlog.processors.format_exc_info,
            redact_secrets,
            structlog.processors.JSONRenderer(serializer=_json_line),
        ]
    return [redact_secrets, structlog.dev.ConsoleRenderer(colors=colors)]


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """Route structlog and the standard library to one stdout handler.

    Safe to call again (each app factory call does): the previous Phiacta handler is
    replaced, never duplicated. Audit lines are kept at every LOG_LEVEL; SQL statements
    are logged only when ENVIRONMENT=development and LOG_LEVEL=debug.
    """
    level = getattr(logging, settings.log_level.upper())
    stream = stream or sys.stdout
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *_renderer_chain(settings.log_format, colors=stream.isatty()),
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    handler.addFilter(_no_frame_lines)

    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)

    logging.getLogger(AUDIT_LOGGER).setLevel(logging.INFO)
    sql_on = settings.is_development and settings.log_level == "debug"
    logging.getLogger(SQL_LOGGER).setLevel(logging.DEBUG if sql_on else logging.WARNING)
    for name in _QUIET_AT_DEBUG:
        logging.getLogger(name).setLevel(max(level, logging.INFO))
    # Alembic registers its plugins with an info line each ("setup plugin
    # alembic.autogenerate.schemas", seven at every start): nothing an operator acts on.
    logging.getLogger("alembic.runtime.plugins").setLevel(max(level, logging.WARNING))
    # uvicorn's own handlers would print a second, unstructured copy of its lines.
    for name in ("uvicorn", "uvicorn.error", "alembic"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # The access line is AccessLogMiddleware's (with the operation name and duration);
    # uvicorn's would be a second line for every request.
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers.clear()
    uvicorn_access.propagate = False

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: a module-level logger used before this ran (the embedded server
        # logs while tests start) would otherwise keep structlog's default pipeline.
        cache_logger_on_first_use=False,
    )
