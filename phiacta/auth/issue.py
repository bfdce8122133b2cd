"""Creating API keys: the one place a raw key exists, returned once to the caller."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from phiacta.auth.keys import generate_api_key, hash_secret
from phiacta.auth.viewer import Scope
from phiacta.errors import FieldProblem, ValidationFailed
from phiacta.store import Connection
from phiacta.store import api_keys as api_key_store
from phiacta.store.api_keys import ApiKeyRow


@dataclass(frozen=True)
class IssuedKey:
    raw_key: str
    row: ApiKeyRow


def parse_scopes(values: Iterable[str], path: str = "scopes") -> list[str]:
    """Validated scope names, in a stable order; unknown ones are a VALIDATION_FAILED."""
    known = {scope.value for scope in Scope}
    given = [v.strip() for v in values]
    problems = [
        FieldProblem(f"{path}[{i}]", f"unknown scope {v!r}; known: {', '.join(sorted(known))}")
        for i, v in enumerate(given)
        if v not in known
    ]
    if problems:
        raise ValidationFailed(problems)
    if not given:
        raise ValidationFailed.single(path, "at least one scope is required")
    return sorted(set(given))


async def issue_api_key(
    conn: Connection,
    *,
    agent_id: UUID,
    scopes: list[str],
    pepper: str,
    name: str | None = None,
    expires_at: datetime | None = None,
    rate_limits: dict[str, Any] | None = None,
) -> IssuedKey:
    raw, parts = generate_api_key()
    row = await api_key_store.insert_api_key(
        conn,
        agent_id=agent_id,
        name=name,
        prefix=parts.prefix,
        hash=hash_secret(parts.secret, pepper),
        scopes=scopes,
        expires_at=expires_at,
        rate_limits=rate_limits,
    )
    return IssuedKey(raw_key=raw, row=row)
