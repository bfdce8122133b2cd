"""`phiacta apikey create|list|revoke`: bootstrapping and managing keys from a shell.

`create` prints the raw key alone on stdout (so `KEY=$(phiacta apikey create ...)`
works) and everything else on stderr; the key is never printed again.
"""

from __future__ import annotations

import asyncio
import re
import sys
from datetime import UTC, datetime, timedelta
from uuid import UUID

import psycopg

from phiacta.auth.issue import issue_api_key, parse_scopes
from phiacta.auth.pepper import resolve_pepper
from phiacta.config import Settings
from phiacta.db.runtime import open_database
from phiacta.errors import ValidationFailed
from phiacta.store import Connection
from phiacta.store import agents as agent_store
from phiacta.store import api_keys as api_key_store
from phiacta.store.api_keys import ApiKeyRow

MAX_LISTED = 1000
_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class CommandError(Exception):
    """A problem to report in one line, exit status 1."""


def parse_expiry(text: str, now: datetime | None = None) -> datetime:
    """`30d`, `12h`, `90m`, ... from now, or an ISO 8601 time (UTC when no offset)."""
    now = now or datetime.now(UTC)
    match = _DURATION.match(text.strip())
    if match:
        return now + timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(
            f"--expires {text!r}: give a duration (30d, 12h) or an ISO time"
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment <= now:
        raise CommandError(f"--expires {text!r} is in the past")
    return moment


def run_command(settings: Settings, action: str, **options: object) -> int:
    """Run one `apikey` action against the configured (or embedded) database."""
    database = open_database(settings)
    try:
        asyncio.run(_dispatch(settings, database.url, action, options))
    except CommandError as exc:
        print(f"phiacta apikey {action}: {exc}", file=sys.stderr)
        return 1
    except psycopg.errors.UndefinedTable:
        print(
            f"phiacta apikey {action}: the database has no schema yet; "
            "run `phiacta migrate upgrade` first",
            file=sys.stderr,
        )
        return 1
    finally:
        database.stop_embedded()
    return 0


async def _dispatch(settings: Settings, url: str, action: str, options: dict[str, object]) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        if action == "create":
            await _create(conn, settings, options)
        elif action == "list":
            await _list(conn, options)
        else:
            await _revoke(conn, str(options["key"]))


async def _create(conn: Connection, settings: Settings, options: dict[str, object]) -> None:
    try:
        scopes = parse_scopes(str(options["scopes"]).split(","), "--scopes")
    except ValidationFailed as exc:
        raise CommandError("; ".join(str(p) for p in exc.problems)) from None
    expires = options.get("expires")
    expires_at = parse_expiry(str(expires)) if expires else None
    name = str(options["agent"])
    agent_type = str(options.get("agent_type") or "pipeline")
    async with conn.transaction():
        found = await agent_store.agents_named(conn, name)
        if len(found) > 1:
            raise CommandError(f"several agents are named {name!r}; rename one first")
        if found:
            agent = found[0]
            created = False
        else:
            agent = await agent_store.insert_agent(conn, agent_type=agent_type, name=name)
            created = True
        issued = await issue_api_key(
            conn,
            agent_id=agent.id,
            scopes=scopes,
            pepper=resolve_pepper(settings),
            name=str(options.get("name") or name),
            expires_at=expires_at,
        )
    verb = "created agent" if created else "agent"
    print(
        f"{verb} {agent.name} ({agent.agent_type}, {agent.id}); key {issued.row.id} "
        f"with scopes {','.join(issued.row.scopes)}"
        + (f", expires {expires_at.isoformat()}" if expires_at else "")
        + ". The key is shown once:",
        file=sys.stderr,
    )
    print(issued.raw_key)


async def _list(conn: Connection, options: dict[str, object]) -> None:
    agent_id = None
    if options.get("agent"):
        found = await agent_store.agents_named(conn, str(options["agent"]))
        if not found:
            raise CommandError(f"no agent is named {options['agent']!r}")
        agent_id = found[0].id
    rows = await api_key_store.api_keys(conn, agent_id=agent_id, limit=MAX_LISTED)
    names = await agent_store.agents_by_id(conn, list({row.agent_id for row in rows}))
    print("id\tprefix\tagent\tscopes\tcreated\texpires\trevoked\tlast_used")
    for row in rows:
        agent = names.get(row.agent_id)
        print(_line(row, agent.name if agent else str(row.agent_id)))


def _line(row: ApiKeyRow, agent_name: str) -> str:
    def when(moment: datetime | None) -> str:
        return moment.isoformat(timespec="seconds") if moment else "-"

    return "\t".join(
        [
            str(row.id),
            row.prefix,
            agent_name,
            ",".join(row.scopes),
            when(row.created_at),
            when(row.expires_at),
            when(row.revoked_at),
            when(row.last_used_at),
        ]
    )


async def _revoke(conn: Connection, key: str) -> None:
    """Revoke by key id or by public prefix (the part after `phk_`)."""
    key_id: UUID | None
    try:
        key_id = UUID(key)
    except ValueError:
        found = await api_key_store.key_with_agent(conn, key.removeprefix("phk_").split("_")[0])
        key_id = found.id if found else None
    revoked = await api_key_store.revoke_api_key(conn, key_id) if key_id else None
    if revoked is None:
        raise CommandError(f"no API key has the id or prefix {key!r}")
    print(f"revoked {revoked.id} (phk_{revoked.prefix}_...)", file=sys.stderr)
