"""Export and import: the CLI as a subprocess and /export/{format} on a live server."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from rdflib import Dataset, Graph, URIRef

from phiacta.config import Settings
from phiacta.db import admin
from phiacta.store.export import FIELDS, NULLABLE
from phiacta.transfer.vocabulary import PHI
from tests.support import (
    TEST_API_KEY_SALT,
    ApiKey,
    create_api_key,
    data_of,
    database_env,
    gql,
    unique_name,
)

# Every column but the derived ones (embedding, search_tsv), by table.
COLUMNS = {
    "agents": "id, agent_type, name, external_id, trust_score, attrs, created_at",
    "namespaces": "id, name, parent_id, description, attrs, created_at",
    "sources": "id, source_type, title, external_ref, content_hash, submitted_by, attrs, "
    "created_at",
    "claims": "id, lineage_id, version, claim_type, content, formal_content, namespace_id, "
    "created_by, supersedes, status, attrs, created_at",
    "provenance": "id, claim_id, source_id, extracted_by, extraction_method, "
    "location_in_source, confidence, attrs, created_at",
    "edges": "id, source_id, target_id, edge_type, strength, created_by, source_provenance, "
    "attrs, created_at",
    "reviews": "id, claim_id, reviewer_id, verdict, confidence, comment, attrs, created_at, "
    "updated_at",
}

SUBMIT = """
mutation($input: SubmitBundleInput!) { submitBundle(input: $input) { claims { tempId id } } }
"""


@pytest.fixture(scope="module")
def writer(database_url: str) -> ApiKey:
    return create_api_key(
        database_url, ["claims:read", "claims:write", "bundles:write", "reviews:write"]
    )


@pytest.fixture(scope="module")
def knowledge(client_module: httpx.Client, writer: ApiKey, database_url: str) -> dict[str, str]:
    """A small graph written through GraphQL: claims in a nested namespace, with
    supports and contradicts edges, a revision, provenance and reviews."""
    namespace = unique_name("bio") + ".immunology"
    bundle = {
        "idempotencyKey": unique_name("key"),
        "namespace": namespace,
        "createNamespaces": True,
        "source": {"sourceType": "PAPER", "title": "A {trial} & more", "externalRef": "10.1/x"},
        "claims": [
            {
                "tempId": "a",
                "content": "T cells clear the virus",
                "confidence": 0.9,
                "attrs": {"page": 3},
            },
            {"tempId": "b", "content": "Antibodies clear the virus", "formalContent": "A -> C"},
            {"tempId": "c", "content": "Interferon slows the virus"},
            {"tempId": "d", "content": "The virus persists despite T cells"},
        ],
        "edges": [
            {"source": {"tempId": "a"}, "target": {"tempId": "b"}, "edgeType": "supports"},
            {
                "source": {"tempId": "c"},
                "target": {"tempId": "b"},
                "edgeType": "supports",
                "strength": 0.5,
            },
            {"source": {"tempId": "d"}, "target": {"tempId": "a"}, "edgeType": "contradicts"},
        ],
    }
    ids = {
        c["tempId"]: c["id"]
        for c in data_of(gql(client_module, SUBMIT, {"input": bundle}, headers=writer.headers))[
            "submitBundle"
        ]["claims"]
    }
    revised = data_of(
        gql(
            client_module,
            'mutation($id: ID!) { reviseClaim(id: $id, input: {content: "Interferon stops '
            'the virus"}) { id } }',
            {"id": ids["c"]},
            headers=writer.headers,
        )
    )["reviseClaim"]["id"]
    reviewer = create_api_key(database_url, ["reviews:write"])
    for claim, verdict in ((ids["b"], "ENDORSE"), (ids["a"], "DISPUTE")):
        data_of(
            gql(
                client_module,
                "mutation($i: CreateReviewInput!) { createReview(input: $i) { replaced } }",
                {
                    "i": {
                        "claimId": claim,
                        "verdict": verdict,
                        "confidence": 0.8,
                        "comment": "checked",
                    }
                },
                headers=reviewer.headers,
            )
        )
    return ids | {"c2": revised, "namespace": namespace}


@pytest.fixture(scope="module")
def client_module(server: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


@pytest.fixture
def fresh_database(pg_admin_url: str, template_database: str) -> Iterator[str]:
    name = unique_name("phiacta_import")
    admin.create_database(pg_admin_url, name, template=template_database)
    yield admin.with_database(pg_admin_url, name)
    admin.drop_database(pg_admin_url, name)


def cli(settings: Settings, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        **database_env(database_url),
        "API_KEY_SALT": TEST_API_KEY_SALT,
        "PHIACTA_DATA_DIR": str(settings.phiacta_data_dir),
        "LOG_LEVEL": "warning",
    }
    return subprocess.run(
        [sys.executable, "-m", "phiacta", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def rows(database_url: str, table: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(f"SELECT {COLUMNS[table]} FROM {table} ORDER BY id").fetchall()


def test_an_ndjson_export_imports_into_an_empty_database_row_for_row_and_twice_adds_nothing(
    knowledge: dict[str, str],
    settings: Settings,
    database_url: str,
    fresh_database: str,
    tmp_path: Path,
) -> None:
    dump = tmp_path / "all.ndjson"
    exported = cli(settings, database_url, "export", "ndjson", "-o", str(dump), "--no-progress")
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(line) for line in dump.read_text().splitlines()]
    assert {line["type"] for line in lines} >= {
        "agent",
        "namespace",
        "edge_type",
        "source",
        "claim",
        "provenance",
        "edge",
        "review",
    }
    assert not any("key" in line or "hash" in line for line in lines)

    first = cli(settings, fresh_database, "import", str(dump), "--no-progress")
    assert first.returncode == 0, first.stderr
    for table in COLUMNS:
        assert rows(fresh_database, table) == rows(database_url, table), table

    second = cli(settings, fresh_database, "import", str(dump), "--no-progress")
    assert second.returncode == 0, second.stderr
    assert "claim: " in second.stdout
    assert all(line.endswith(" 0 new") for line in second.stdout.strip().splitlines())
    for table in COLUMNS:
        assert rows(fresh_database, table) == rows(database_url, table), table


def test_a_bad_line_is_reported_with_its_place_and_its_chunk_is_not_written(
    settings: Settings, fresh_database: str, tmp_path: Path
) -> None:
    dump = tmp_path / "bad.ndjson"
    agent = {
        "type": "agent",
        "id": "6f1c4f3e-0000-4000-8000-000000000001",
        "agent_type": "human",
        "name": "Ada",
    }
    dump.write_text(
        json.dumps(agent) + "\n" + json.dumps({"type": "claim", "id": agent["id"]}) + "\n{nope\n"
    )
    result = cli(settings, fresh_database, "import", str(dump), "--no-progress")
    assert result.returncode == 1
    assert "line 2.content: is required" in result.stderr
    assert "line 3: not JSON" in result.stderr
    assert not [row for row in rows(fresh_database, "agents") if row[2] == "Ada"]


def test_a_selection_exports_a_namespace_subtree_and_latest_versions_only(
    knowledge: dict[str, str], settings: Settings, database_url: str, tmp_path: Path
) -> None:
    dump = tmp_path / "some.ndjson"
    top = knowledge["namespace"].split(".")[0]
    result = cli(
        settings,
        database_url,
        "export",
        "ndjson",
        "-o",
        str(dump),
        "--no-progress",
        "--namespace",
        top,
        "--latest-only",
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in dump.read_text().splitlines()]
    claims = {line["id"] for line in lines if line["type"] == "claim"}
    assert claims == {knowledge["a"], knowledge["b"], knowledge["d"], knowledge["c2"]}
    paths = [line["path"] for line in lines if line["type"] == "namespace"]
    assert paths == [top, knowledge["namespace"]]
    edges = [line for line in lines if line["type"] == "edge"]
    assert all(e["source_id"] in claims and e["target_id"] in claims for e in edges)


def sparql_supporters(graph: Graph, claim_id: str) -> set[str]:
    query = "SELECT ?s WHERE { ?s phi:supports ?target }"
    found = graph.query(
        query, initNs={"phi": PHI}, initBindings={"target": URIRef(f"urn:uuid:{claim_id}")}
    )
    return {str(row[0]).removeprefix("urn:uuid:") for row in found}  # type: ignore[index]


def graphql_supporters(client: httpx.Client, claim_id: str) -> set[str]:
    evidence = data_of(
        gql(
            client,
            "query($id: ID!) { evidence(claimId: $id) { supporting { claim { id } } } }",
            {"id": claim_id},
        )
    )["evidence"]
    return {item["claim"]["id"] for item in evidence["supporting"]}


@pytest.mark.parametrize(
    ("name", "rdf_format"), [("jsonld", "json-ld"), ("turtle", "turtle"), ("ntriples", "nt")]
)
def test_rdf_exports_parse_and_sparql_finds_the_supporters_graphql_finds(
    knowledge: dict[str, str],
    client_module: httpx.Client,
    writer: ApiKey,
    name: str,
    rdf_format: str,
) -> None:
    response = client_module.get(f"/export/{name}", headers=writer.headers)
    assert response.status_code == 200, response.text
    graph = Graph().parse(data=response.text, format=rdf_format)
    expected = graphql_supporters(client_module, knowledge["b"])
    # c's revision c2 carries c's support of b forward (the edges follow the lineage).
    assert expected == {knowledge["a"], knowledge["c"], knowledge["c2"]}
    assert sparql_supporters(graph, knowledge["b"]) == expected
    # The edge types' semantics travel with the data.
    assert (
        PHI.supports,
        URIRef("http://www.w3.org/2002/07/owl#inverseOf"),
        PHI.supported_by,
    ) in graph


def test_nanopublications_parse_and_import_with_ids_kept(
    knowledge: dict[str, str],
    client_module: httpx.Client,
    writer: ApiKey,
    settings: Settings,
    database_url: str,
    fresh_database: str,
    tmp_path: Path,
) -> None:
    response = client_module.get(
        "/export/trig", params={"namespace": knowledge["namespace"]}, headers=writer.headers
    )
    assert response.status_code == 200, response.text
    # SPARQL over the union of the nanopublications' graphs.
    dataset = Dataset(default_union=True)
    dataset.parse(data=response.text, format="trig")
    np = URIRef(f"https://phiacta.org/np/{knowledge['b']}")
    assertion = URIRef(f"{np}#assertion")
    assert {str(g.identifier) for g in dataset.graphs()} >= {
        f"{np}#Head",
        str(assertion),
        f"{np}#provenance",
        f"{np}#pubinfo",
    }
    assert sparql_supporters(dataset, knowledge["b"]) == graphql_supporters(
        client_module, knowledge["b"]
    )

    trig = tmp_path / "np.trig"
    trig.write_text(response.text)
    result = cli(settings, fresh_database, "import", str(trig), "--no-progress")
    assert result.returncode == 0, result.stderr
    again = cli(settings, fresh_database, "import", str(trig), "--no-progress")
    assert "claim: " in again.stdout
    assert all(line.endswith(" 0 new") for line in again.stdout.strip().splitlines())
    for table, columns in (
        ("claims", "id, lineage_id, version, content, status, supersedes, created_by"),
        ("edges", "id, source_id, target_id, edge_type, strength"),
        ("provenance", "id, claim_id, source_id, confidence"),
    ):
        query = f"SELECT {columns} FROM {table} ORDER BY id"
        with psycopg.connect(fresh_database) as imported:
            got = imported.execute(query).fetchall()
        with psycopg.connect(database_url) as original:
            ids = list(knowledge.values())
            want = [
                row
                for row in original.execute(query).fetchall()
                if table != "claims" or str(row[0]) in ids
            ]
        if table == "claims":
            assert got == want
        else:
            assert set(got) <= set(want) and got


def test_sources_export_as_bibtex_and_csl_json(
    knowledge: dict[str, str], client_module: httpx.Client, writer: ApiKey
) -> None:
    bib = client_module.get("/export/bibtex", headers=writer.headers)
    csl = client_module.get("/export/csljson", headers=writer.headers)
    assert bib.status_code == csl.status_code == 200
    assert "doi = {10.1/x}" in bib.text and r"A \{trial\} \& more" in bib.text
    item = next(i for i in json.load(io.StringIO(csl.text)) if i.get("DOI") == "10.1/x")
    assert item["type"] == "article-journal" and item["title"] == "A {trial} & more"


def test_exports_need_a_key_with_claims_read(
    client_module: httpx.Client, database_url: str
) -> None:
    anonymous = client_module.get("/export/ndjson")
    writer_only = create_api_key(database_url, ["reviews:write"])
    refused = client_module.get("/export/ndjson", headers=writer_only.headers)
    reader = create_api_key(database_url, ["claims:read"])
    unknown = client_module.get("/export/xml", headers=reader.headers)
    bad = client_module.get(
        "/export/ndjson", params={"createdAfter": "soon"}, headers=reader.headers
    )
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert unknown.status_code == 400
    assert bad.json()["errors"][0]["extensions"]["details"][0]["path"] == "createdAfter"
    streamed = client_module.get("/export/ndjson", headers=reader.headers)
    assert streamed.status_code == 200
    kinds = {json.loads(line)["type"] for line in streamed.text.splitlines()}
    assert {"agent", "edge_type"} <= kinds


def test_the_export_knows_which_columns_may_be_null(database_url: str) -> None:
    """PostgreSQL writes the NDJSON lines, skipping the null check where the schema
    forbids NULL: a column that became nullable must be listed, or its records would
    vanish from exports."""
    tables = {"agent": "agents", "namespace": "namespaces", "edge_type": "edge_types"}
    tables |= {"source": "sources", "claim": "claims", "provenance": "provenance"}
    tables |= {"edge": "edges", "review": "reviews"}
    with psycopg.connect(database_url) as conn:
        nullable = set(
            conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = 'public' AND is_nullable = 'YES'"
            ).fetchall()
        )
    for kind, table in tables.items():
        exported = {name for name, _ in FIELDS[kind]}
        assert {c for t, c in nullable if t == table} & exported == NULLABLE[kind], kind


def test_a_source_known_by_its_reference_is_not_duplicated_on_import(
    settings: Settings, fresh_database: str, tmp_path: Path
) -> None:
    """A source whose DOI (in any spelling) the database or the file already has
    resolves to that source: no second row, and the records naming it follow."""
    known, again, doi_twice, doi_twice_later = (str(uuid.uuid4()) for _ in range(4))
    claim = str(uuid.uuid4())

    def source(id: str, ref: str) -> dict[str, str]:
        return {"type": "source", "id": id, "source_type": "paper", "external_ref": ref}

    first = tmp_path / "first.ndjson"
    first.write_text(json.dumps(source(known, "10.5555/Known")) + "\n")
    assert cli(settings, fresh_database, "import", str(first), "--no-progress").returncode == 0

    second = tmp_path / "second.ndjson"
    records = [
        source(again, "https://doi.org/10.5555/KNOWN"),
        source(doi_twice, "doi:10.5555/twice"),
        source(doi_twice_later, "10.5555/TWICE"),
        {"type": "claim", "id": claim, "content": "Known sources stay single"},
        {"type": "provenance", "id": str(uuid.uuid4()), "claim_id": claim, "source_id": again},
        {
            "type": "provenance",
            "id": str(uuid.uuid4()),
            "claim_id": claim,
            "source_id": doi_twice_later,
        },
    ]
    second.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = cli(settings, fresh_database, "import", str(second), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "source: 3 read, 1 new" in result.stdout

    with psycopg.connect(fresh_database) as conn:
        sources = conn.execute("SELECT id::text, external_ref FROM sources").fetchall()
        named = conn.execute("SELECT source_id::text FROM provenance").fetchall()
        identifiers = conn.execute(
            "SELECT identifier, source_id::text FROM source_identifiers"
        ).fetchall()
    assert sorted(sources) == sorted([(known, "10.5555/known"), (doi_twice, "10.5555/twice")])
    assert sorted(row[0] for row in named) == sorted([known, doi_twice])
    assert sorted(identifiers) == sorted([("10.5555/known", known), ("10.5555/twice", doi_twice)])
