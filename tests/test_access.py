"""Access: every write needs a usable key with the right scope, keys are managed through
GraphQL and the CLI, extensions register from a manifest, and a raw key is never kept."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from phiacta.auth.manifest import ManifestViolation, enforce_manifest
from phiacta.auth.viewer import Scope, Viewer
from phiacta.config import Settings
from phiacta.db.embedded import binaries_dir
from tests.support import (
    TEST_API_KEY_SALT,
    LiveServer,
    create_api_key,
    data_of,
    error_codes,
    gql,
    make_settings,
    settings_env,
    unique_name,
)

CREATE_NAMESPACE = """
mutation($path: String!) { createNamespace(input: {path: $path}) { id path } }
"""
CREATE_KEY = """
mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { key apiKey { id agentId scopes prefix expiresAt } }
}
"""
REVOKE_KEY = "mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }"
REGISTER = """
mutation($input: RegisterExtensionInput!) {
  registerExtension(input: $input) {
    key agent { id agentType name externalId attrs } apiKey { scopes }
  }
}
"""


@pytest.fixture(scope="module")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # Debug logging: every SQL statement and request is logged, so the "no raw key in
    # any log line" check below looks at as much output as the server can produce.
    return make_settings(database_url, tmp_path_factory.mktemp("data"), log_level="debug")


def namespace_exists(database_url: str, name: str) -> bool:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM namespaces WHERE name = %s", (name,)).fetchone()
    return bool(row and row[0])


def post(client: httpx.Client, query: str, variables: dict[str, Any], key: str | None) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


# -- refused writes change nothing ---------------------------------------------------


def test_a_write_without_a_key_is_unauthenticated_and_writes_nothing(
    client: httpx.Client, database_url: str
) -> None:
    name = unique_name("nokey")
    body = gql(client, CREATE_NAMESPACE, {"path": name})
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert body["data"] is None
    assert not namespace_exists(database_url, name)


def test_a_write_with_a_revoked_key_is_refused_and_writes_nothing(
    client: httpx.Client, database_url: str
) -> None:
    key = create_api_key(database_url, ["claims:write"])
    data_of(gql(client, CREATE_NAMESPACE, {"path": unique_name("before")}, headers=key.headers))
    data_of(gql(client, REVOKE_KEY, {"id": str(key.key_id)}, headers=key.headers))
    name = unique_name("revoked")
    response = post(client, CREATE_NAMESPACE, {"path": name}, key.raw)
    assert response.status_code == 401
    assert error_codes(response.json()) == ["UNAUTHENTICATED"]
    assert not namespace_exists(database_url, name)


def test_a_write_with_an_expired_key_is_refused_and_writes_nothing(
    client: httpx.Client, database_url: str
) -> None:
    key = create_api_key(
        database_url, ["claims:write"], expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    name = unique_name("expired")
    response = post(client, CREATE_NAMESPACE, {"path": name}, key.raw)
    assert response.status_code == 401
    assert error_codes(response.json()) == ["UNAUTHENTICATED"]
    assert not namespace_exists(database_url, name)


def test_a_write_with_the_wrong_scope_is_forbidden_and_writes_nothing(
    client: httpx.Client, database_url: str
) -> None:
    key = create_api_key(database_url, ["claims:read", "reviews:write"])
    name = unique_name("wrongscope")
    body = gql(client, CREATE_NAMESPACE, {"path": name}, headers=key.headers)
    assert error_codes(body) == ["FORBIDDEN"]
    assert "claims:write" in body["errors"][0]["message"]
    assert body["errors"][0]["path"] == ["createNamespace"]
    assert not namespace_exists(database_url, name)


def test_an_agent_cannot_revoke_another_agents_key(client: httpx.Client, database_url: str) -> None:
    mine = create_api_key(database_url, ["claims:write"])
    theirs = create_api_key(database_url, ["claims:write"])
    body = gql(client, REVOKE_KEY, {"id": str(theirs.key_id)}, headers=mine.headers)
    assert error_codes(body) == ["NOT_FOUND"]
    data_of(gql(client, CREATE_NAMESPACE, {"path": unique_name("still")}, headers=theirs.headers))


def test_an_agent_cannot_create_a_key_for_another_agent(
    client: httpx.Client, database_url: str
) -> None:
    mine = create_api_key(database_url, ["claims:write"])
    theirs = create_api_key(database_url, ["claims:write"])
    variables = {"input": {"agentId": str(theirs.agent_id), "scopes": ["claims:write"]}}
    body = gql(client, CREATE_KEY, variables, headers=mine.headers)
    assert error_codes(body) == ["FORBIDDEN"]
    assert keys_of(database_url, theirs.agent_id) == 1


def test_a_key_cannot_grant_a_scope_its_creator_lacks(
    client: httpx.Client, database_url: str
) -> None:
    mine = create_api_key(database_url, ["claims:write"])
    variables = {"input": {"scopes": ["claims:write", "admin", "bogus"]}}
    body = gql(client, CREATE_KEY, variables, headers=mine.headers)
    assert error_codes(body) == ["VALIDATION_FAILED"]
    details = body["errors"][0]["extensions"]["details"]
    assert {d["path"] for d in details} == {"input.scopes", "input.scopes[2]"}
    assert keys_of(database_url, mine.agent_id) == 1


def keys_of(database_url: str, agent_id: uuid.UUID) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM api_keys WHERE agent_id = %s", (agent_id,))
        found = row.fetchone()
    return int(found[0]) if found else 0


# -- key management ------------------------------------------------------------------


def test_an_agent_creates_its_own_key_which_works_and_is_shown_once(
    client: httpx.Client, database_url: str
) -> None:
    mine = create_api_key(database_url, ["claims:write", "claims:read"])
    expires = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    variables = {"input": {"scopes": ["claims:write"], "expiresAt": expires, "name": "ci"}}
    created = data_of(gql(client, CREATE_KEY, variables, headers=mine.headers))["createApiKey"]
    assert created["key"].startswith(f"phk_{created['apiKey']['prefix']}_")
    assert created["apiKey"]["agentId"] == str(mine.agent_id)
    assert created["apiKey"]["scopes"] == ["claims:write"]
    new_key = {"Authorization": f"Bearer {created['key']}"}
    viewer = data_of(
        gql(client, "{ viewer { agentId scopes apiKeys { id } agent { id } } }", headers=new_key)
    )["viewer"]
    assert viewer["agentId"] == str(mine.agent_id) and viewer["scopes"] == ["claims:write"]
    assert {k["id"] for k in viewer["apiKeys"]} == {str(mine.key_id), created["apiKey"]["id"]}
    assert "key" not in str(viewer["apiKeys"]).lower().replace("apikeys", "")


def test_the_viewer_is_null_for_an_anonymous_caller(client: httpx.Client) -> None:
    assert data_of(gql(client, "{ viewer { agentId } }")) == {"viewer": None}


def test_an_admin_revokes_any_key_and_it_stops_working_at_once(
    client: httpx.Client, database_url: str
) -> None:
    admin = create_api_key(database_url, ["admin"])
    other = create_api_key(database_url, ["claims:write"])
    data_of(gql(client, CREATE_NAMESPACE, {"path": unique_name("warm")}, headers=other.headers))
    revoked = data_of(gql(client, REVOKE_KEY, {"id": str(other.key_id)}, headers=admin.headers))
    assert revoked["revokeApiKey"]["revokedAt"]
    response = post(client, CREATE_NAMESPACE, {"path": unique_name("after")}, other.raw)
    assert response.status_code == 401


def test_rate_limit_overrides_are_for_admins_only(client: httpx.Client, database_url: str) -> None:
    mine = create_api_key(database_url, ["claims:write"])
    variables = {"input": {"scopes": ["claims:write"], "rateLimits": {"claims:write": 9999}}}
    body = gql(client, CREATE_KEY, variables, headers=mine.headers)
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert body["errors"][0]["extensions"]["details"][0]["path"] == "input.rateLimits"


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        **settings_env(settings),
        "API_KEY_SALT": TEST_API_KEY_SALT,
        "PHIACTA_DATA_DIR": str(settings.phiacta_data_dir),
        "LOG_LEVEL": "warning",
    }
    return subprocess.run(
        [sys.executable, "-m", "phiacta", "apikey", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_cli_creates_lists_and_revokes_keys(
    client: httpx.Client, settings: Settings, database_url: str
) -> None:
    agent = unique_name("cli")
    created = cli(
        settings, "create", "--agent", agent, "--scopes", "claims:write", "--expires", "1d"
    )
    assert created.returncode == 0, created.stderr
    raw = created.stdout.strip()
    assert raw.startswith("phk_") and "\n" not in raw
    headers = {"Authorization": f"Bearer {raw}"}
    data_of(gql(client, CREATE_NAMESPACE, {"path": unique_name("bycli")}, headers=headers))
    listed = cli(settings, "list", "--agent", agent)
    assert listed.returncode == 0, listed.stderr
    assert raw.split("_")[1] in listed.stdout and raw not in listed.stdout
    revoked = cli(settings, "revoke", raw.split("_")[1])
    assert revoked.returncode == 0, revoked.stderr
    assert post(client, CREATE_NAMESPACE, {"path": unique_name("x")}, raw).status_code == 401
    bad = cli(settings, "create", "--agent", agent, "--scopes", "claims:wrote")
    assert bad.returncode == 1 and "unknown scope" in bad.stderr


# -- extensions ----------------------------------------------------------------------


def manifest(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": f"org.example.{uuid.uuid4().hex[:8]}",
        "name": "Paper bot",
        "version": "1.4.0-beta.1+build.7",
        "capabilities": ["ingest"],
        "claimTypes": ["assertion", "observation"],
        "edgeTypes": ["supports"],
    }
    values.update(overrides)
    return values


def test_an_admin_registers_an_extension_whose_key_carries_the_manifest(
    client: httpx.Client, database_url: str
) -> None:
    admin = create_api_key(database_url, ["admin"])
    given = manifest()
    registered = data_of(
        gql(client, REGISTER, {"input": {"manifest": given}}, headers=admin.headers)
    )["registerExtension"]
    assert registered["agent"]["agentType"] == "EXTENSION"
    assert registered["agent"]["externalId"] == given["id"]
    assert registered["agent"]["attrs"]["manifest"] == given
    assert sorted(registered["apiKey"]["scopes"]) == [
        "bundles:write",
        "claims:read",
        "claims:write",
    ]
    headers = {"Authorization": f"Bearer {registered['key']}"}
    viewer = data_of(gql(client, "{ viewer { manifest agent { name } } }", headers=headers))
    assert viewer["viewer"]["manifest"] == given
    again = gql(client, REGISTER, {"input": {"manifest": given}}, headers=admin.headers)
    assert error_codes(again) == ["CONFLICT"]


def test_racing_registrations_of_one_extension_id_make_one_agent(
    server: LiveServer, database_url: str
) -> None:
    admin = create_api_key(database_url, ["admin"])
    given = manifest()

    async def register() -> list[str]:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            responses = await asyncio.gather(
                *[
                    http.post(
                        "/graphql",
                        json={"query": REGISTER, "variables": {"input": {"manifest": given}}},
                        headers=admin.headers,
                    )
                    for _ in range(8)
                ]
            )
        return sorted(",".join(error_codes(r.json())) or "OK" for r in responses)

    assert asyncio.run(register()) == ["CONFLICT"] * 7 + ["OK"]
    with psycopg.connect(database_url) as conn:
        found = conn.execute(
            "SELECT count(*) FROM agents WHERE external_id = %s", (given["id"],)
        ).fetchone()
    assert found == (1,)


def test_a_bad_manifest_is_refused_with_every_problem_listed(
    client: httpx.Client, database_url: str
) -> None:
    admin = create_api_key(database_url, ["admin"])
    bad = manifest(
        id="X",
        name="",
        version="1.0",
        capabilities=["ok", "Not OK"],
        claimTypes=["assertion", "rumour", "assertion"],
        edgeTypes=["supports", "vibes_with"],
    )
    body = gql(client, REGISTER, {"input": {"manifest": bad}}, headers=admin.headers)
    assert error_codes(body) == ["VALIDATION_FAILED"]
    paths = {d["path"]: d["code"] for d in body["errors"][0]["extensions"]["details"]}
    assert paths == {
        "input.manifest.id": "INVALID_VALUE",
        "input.manifest.name": "INVALID_VALUE",
        "input.manifest.version": "INVALID_VALUE",
        "input.manifest.capabilities[1]": "INVALID_VALUE",
        "input.manifest.claimTypes[1]": "INVALID_VALUE",
        "input.manifest.claimTypes[2]": "INVALID_VALUE",
        "input.manifest.edgeTypes[1]": "EDGE_TYPE_UNKNOWN",
    }
    with psycopg.connect(database_url) as conn:
        found = conn.execute("SELECT count(*) FROM agents WHERE external_id = 'X'").fetchone()
    assert found == (0,)


def test_registering_an_extension_needs_admin(client: httpx.Client, database_url: str) -> None:
    writer = create_api_key(database_url, ["claims:write", "bundles:write"])
    body = gql(client, REGISTER, {"input": {"manifest": manifest()}}, headers=writer.headers)
    assert error_codes(body) == ["FORBIDDEN"]


def extension_viewer(manifest_attrs: dict[str, Any]) -> Viewer:
    return Viewer(
        agent_id=uuid.uuid4(),
        key_id=uuid.uuid4(),
        key_prefix="abc",
        scopes=frozenset({Scope.BUNDLES_WRITE}),
        agent_type="extension",
        agent_name="bot",
        manifest=manifest_attrs,
    )


def test_the_manifest_check_refuses_undeclared_claim_and_edge_types_with_their_paths() -> None:
    viewer = extension_viewer({"claimTypes": ["assertion"], "edgeTypes": ["supports"]})
    enforce_manifest(viewer, claim_types=[("claims[0].claimType", "assertion")])
    with pytest.raises(ManifestViolation) as refused:
        enforce_manifest(
            viewer,
            claim_types=[("claims[0].claimType", "assertion"), ("claims[1].claimType", "theorem")],
            edge_types=[("edges[0].edgeType", "contradicts")],
        )
    assert refused.value.code == "FORBIDDEN"
    assert [p.path for p in refused.value.problems] == ["claims[1].claimType", "edges[0].edgeType"]
    # Agents that are not extensions are not bound by any manifest.
    human = Viewer(uuid.uuid4(), uuid.uuid4(), "p", frozenset(), "human", "h")
    enforce_manifest(human, claim_types=[("claims[0].claimType", "theorem")])


# -- the raw key is never kept ---------------------------------------------------------


@pytest.fixture
def captured_server(
    database_url: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> Iterator[LiveServer]:
    with LiveServer.run(make_settings(database_url, tmp_path, log_level="debug")) as live:
        yield live


def test_a_raw_key_appears_in_no_log_line_and_no_table(
    captured_server: LiveServer, database_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    admin = create_api_key(database_url, ["admin"])
    raws = [admin.raw]
    with httpx.Client(base_url=captured_server.url, timeout=30) as client:
        created = data_of(
            gql(client, CREATE_KEY, {"input": {"scopes": ["claims:write"]}}, headers=admin.headers)
        )["createApiKey"]["key"]
        raws.append(created)
        registered = data_of(
            gql(client, REGISTER, {"input": {"manifest": manifest()}}, headers=admin.headers)
        )["registerExtension"]["key"]
        raws.append(registered)
        for raw in raws:
            headers = {"Authorization": f"Bearer {raw}"}
            gql(client, CREATE_NAMESPACE, {"path": unique_name("logged")}, headers=headers)
        wrong = created[:-4] + "AAAA"
        raws.append(wrong)
        assert post(client, "{ viewer { agentId } }", {}, wrong).status_code == 401
    output = capfd.readouterr()
    logs = output.out + output.err
    assert "createApiKey" in logs  # the audit lines were captured
    dump = subprocess.run(
        [str(binaries_dir() / "pg_dump"), "--data-only", f"--dbname={database_url}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert "api_keys" in dump
    for raw in raws:
        secret = raw.split("_", 2)[2]
        assert secret not in logs and raw not in logs
        assert secret not in dump
