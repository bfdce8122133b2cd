"""API_KEY_SALT: the pepper mixed into every key hash.

Set it explicitly in production so every replica verifies the same keys. When unset, a
random one is generated once and kept in the data directory, so the CLI and the server
on one machine agree (`phiacta apikey create` then `make run`).
"""

from __future__ import annotations

import contextlib
import os
import secrets

import structlog

from phiacta.config import Settings

log = structlog.get_logger(__name__)

PEPPER_FILE = "api_key_salt"


def resolve_pepper(settings: Settings) -> str:
    if settings.api_key_salt is not None:
        return settings.api_key_salt.get_secret_value()
    path = settings.phiacta_data_dir / PEPPER_FILE
    if not path.exists():
        settings.phiacta_data_dir.mkdir(parents=True, exist_ok=True)
        # Written aside, then linked into place: link() fails when the file exists, so
        # when processes race (the workers of one server) one wins and every one of them
        # reads its complete value, never a half-written file.
        draft = path.with_name(f".{PEPPER_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
        finally:
            draft.unlink()
    # Replicas exist only with a shared DATABASE_URL: the embedded server has one host.
    if not settings.is_development and settings.database_url:
        log.warning(
            "api_key_salt_generated",
            detail="API_KEY_SALT is unset; replicas must share it to verify the same keys",
            path=str(path),
        )
    return path.read_text().strip()
