"""Identifiers have one spelling: DOIs, arXiv ids, ORCID iDs, PubMed ids and URLs are
stored canonical; a source with a known identifier is found, never duplicated; a pending
reference resolves when any of a source's identifiers arrives, in any spelling."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import psycopg
import pytest

from phiacta.db import migrate
from phiacta.identifiers import canonical_identifier, dois_in_text, parse_identifier
from tests.conftest import TEST_DIMENSIONS
from tests.support import ApiKey, create_api_key, data_of, gql, unique_name
from tests.write_support import bundle, details, submit

SOURCE_BY_REF = """query ($ref: String) {
  sources(externalRef: $ref) { totalCount edges { node { id externalRef identifiers } } } }"""


@pytest.fixture(scope="module")
def bot(database_url: str) -> ApiKey:
    return create_api_key(database_url, ["bundles:write", "claims:write"])


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("10.1000/ABC.def", "10.1000/abc.def"),
        ("doi:10.1000/ABC.def", "10.1000/abc.def"),
        ("DOI: 10.1000/abc.def", "10.1000/abc.def"),
        ("https://doi.org/10.1000/ABC.def", "10.1000/abc.def"),
        ("http://dx.doi.org/10.1000/abc.DEF", "10.1000/abc.def"),
        ("https://doi.org/10.1000/a%2Fb", "10.1000/a/b"),
        ("arXiv:2101.00001v2", "arXiv:2101.00001"),
        ("2101.00001", "arXiv:2101.00001"),
        ("https://arxiv.org/abs/2101.00001v3", "arXiv:2101.00001"),
        ("https://arxiv.org/pdf/2101.00001v1.pdf", "arXiv:2101.00001"),
        ("hep-th/9901001v1", "arXiv:hep-th/9901001"),
        ("arxiv:math.gt/0309136", "arXiv:math.GT/0309136"),
        ("https://orcid.org/0000-0002-1825-0097", "0000-0002-1825-0097"),
        ("0000000218250097", "0000-0002-1825-0097"),
        ("0000-0002-1694-233x", "0000-0002-1694-233X"),
        ("PMID: 12345", "pmid:12345"),
        ("https://pubmed.ncbi.nlm.nih.gov/12345/", "pmid:12345"),
        ("pmc777", "pmcid:PMC777"),
        ("HTTPS://Example.ORG:443/Path?q=1#frag", "https://example.org/Path?q=1"),
        ("http://example.org", "http://example.org/"),
        ("  some local id  ", "some local id"),
    ],
)
def test_every_spelling_has_one_canonical_form(spelling: str, canonical: str) -> None:
    assert canonical_identifier(spelling) == canonical


def test_an_orcid_with_a_wrong_check_digit_is_no_orcid() -> None:
    assert parse_identifier("0000-0002-1825-0098").kind == "other"
    assert parse_identifier("0000-0002-1825-0097").kind == "orcid"


def test_dois_in_running_text_lose_trailing_punctuation() -> None:
    text = "See doi:10.1000/ABC. and (https://doi.org/10.5555/x-1), again 10.1000/abc."
    assert dois_in_text(text) == ["10.1000/abc", "10.5555/x-1"]


def _doi() -> str:
    return f"10.5555/{unique_name('Id').upper()}"


def _citing(target: str) -> dict[str, Any]:
    body = bundle(2)
    body["edges"].append(
        {"source": {"tempId": "c1"}, "target": {"externalRef": target}, "edgeType": "supports"}
    )
    return body


def test_a_pending_reference_resolves_under_another_spelling_of_the_doi(
    client: httpx.Client, bot: ApiKey
) -> None:
    doi = _doi()
    first = data_of(submit(client, _citing(f"doi:{doi}"), bot.headers))["submitBundle"]
    (left,) = first["pendingReferences"]
    assert left["externalRef"] == doi.lower()

    cited = bundle(1, source={"sourceType": "PAPER", "externalRef": f"https://doi.org/{doi}"})
    second = data_of(submit(client, cited, bot.headers))["submitBundle"]
    (resolved,) = second["resolvedReferences"]
    assert resolved["id"] == left["id"]
    assert resolved["resolvedToId"] == second["claims"][0]["id"]


def test_a_reference_to_a_known_source_in_another_spelling_links_at_once(
    client: httpx.Client, bot: ApiKey
) -> None:
    doi = _doi()
    cited = bundle(1, source={"sourceType": "PAPER", "externalRef": doi.lower()})
    first = data_of(submit(client, cited, bot.headers))["submitBundle"]
    second = data_of(submit(client, _citing(f"http://dx.doi.org/{doi}"), bot.headers))
    assert second["submitBundle"]["pendingReferences"] == []
    assert second["submitBundle"]["edgeIds"][-1] is not None
    assert first["claims"][0]["id"] != second["submitBundle"]["claims"][0]["id"]


def test_a_source_known_by_any_identifier_is_reused_and_learns_the_others(
    client: httpx.Client, bot: ApiKey
) -> None:
    joss, companion, arxiv = _doi(), _doi(), f"arXiv:{uuid.uuid4().int % 10**4:04d}.54321"
    first = bundle(1, source={"sourceType": "PAPER", "externalRef": f"doi:{joss}"})
    one = data_of(submit(client, first, bot.headers))["submitBundle"]
    again = bundle(
        1,
        source={
            "sourceType": "PAPER",
            "externalRef": f"https://doi.org/{companion}",
            "identifiers": [joss.lower(), f"{arxiv}v2"],
        },
    )
    two = data_of(submit(client, again, bot.headers))["submitBundle"]
    assert two["sourceId"] == one["sourceId"]

    for spelling in (f"https://doi.org/{companion.upper()}", joss, arxiv + "v1"):
        page = data_of(gql(client, SOURCE_BY_REF, {"ref": spelling}))["sources"]
        assert page["totalCount"] == 1, spelling
        node = page["edges"][0]["node"]
        assert node["id"] == one["sourceId"]
        assert node["externalRef"] == joss.lower()
        assert set(node["identifiers"]) == {joss.lower(), companion.lower(), arxiv}


def test_a_pending_reference_resolves_when_a_companion_identifier_arrives(
    client: httpx.Client, bot: ApiKey
) -> None:
    joss, companion = _doi(), _doi()
    citing = data_of(submit(client, _citing(companion), bot.headers))["submitBundle"]
    (left,) = citing["pendingReferences"]
    paper = bundle(
        2,
        source={"sourceType": "PAPER", "externalRef": joss, "identifiers": [f"doi:{companion}"]},
    )
    arrived = data_of(submit(client, paper, bot.headers))["submitBundle"]
    (resolved,) = arrived["resolvedReferences"]
    assert (resolved["id"], resolved["resolvedToId"]) == (left["id"], arrived["claims"][0]["id"])


def test_create_source_returns_the_known_source_for_a_known_identifier(
    client: httpx.Client, bot: ApiKey
) -> None:
    create = """mutation($input: CreateSourceInput!) {
        createSource(input: $input) { id externalRef identifiers } }"""
    doi = _doi()
    made = data_of(
        gql(
            client,
            create,
            {"input": {"sourceType": "PAPER", "externalRef": f"doi:{doi}"}},
            headers=bot.headers,
        )
    )["createSource"]
    found = data_of(
        gql(
            client,
            create,
            {"input": {"sourceType": "PAPER", "externalRef": "PMID: 4242", "identifiers": [doi]}},
            headers=bot.headers,
        )
    )["createSource"]
    assert found["id"] == made["id"]
    assert made["externalRef"] == doi.lower()
    assert set(found["identifiers"]) == {doi.lower(), "pmid:4242"}


def test_contributor_id_accepts_an_orcid_and_names_one_person(
    client: httpx.Client, bot: ApiKey
) -> None:
    query = """query ($id: ID!) { bundle(id: $id) {
        contributor { agentType externalId } contributorId } }"""
    seen = set()
    for spelling in ("https://orcid.org/0000-0002-1825-0097", "0000000218250097"):
        result = data_of(submit(client, bundle(1, contributorId=spelling), bot.headers))
        read = data_of(gql(client, query, {"id": result["submitBundle"]["bundleId"]}))["bundle"]
        assert read["contributor"] == {"agentType": "HUMAN", "externalId": "0000-0002-1825-0097"}
        seen.add(read["contributorId"])
    assert len(seen) == 1


def test_contributor_id_with_a_wrong_orcid_check_digit_is_refused(
    client: httpx.Client, bot: ApiKey
) -> None:
    body = submit(client, bundle(1, contributorId="0000-0002-1825-0098"), bot.headers)
    assert details(body) == [("contributorId", "INVALID_VALUE")]


@pytest.mark.direct("migrations always run on a direct connection")
def test_migration_brings_existing_rows_to_the_canonical_spelling(
    empty_database_url: str,
) -> None:
    migrate.upgrade(empty_database_url, TEST_DIMENSIONS, "0005")
    with psycopg.connect(empty_database_url) as conn:
        conn.execute(
            "INSERT INTO agents (agent_type, name, external_id)"
            " VALUES ('human', 'Josiah', 'https://orcid.org/0000-0002-1825-0097')"
        )
        for ref in ("https://doi.org/10.1000/ABC", "doi:10.1000/abc", "arXiv:2101.00001v4"):
            conn.execute(
                "INSERT INTO sources (source_type, external_ref) VALUES ('paper', %s)", (ref,)
            )
        claim = conn.execute(
            "INSERT INTO claims (lineage_id, claim_type, content)"
            " VALUES (gen_random_uuid(), 'assertion', 'cites') RETURNING id"
        ).fetchone()
        assert claim is not None
        conn.execute(
            "INSERT INTO pending_references (source_claim_id, external_ref, edge_type)"
            " VALUES (%s, 'DOI:10.2000/XYZ', 'supports')",
            (claim[0],),
        )
    migrate.upgrade(empty_database_url, TEST_DIMENSIONS)
    with psycopg.connect(empty_database_url) as conn:
        refs = conn.execute("SELECT external_ref FROM sources ORDER BY external_ref").fetchall()
        owned = conn.execute("SELECT identifier FROM source_identifiers ORDER BY 1").fetchall()
        pending = conn.execute("SELECT external_ref FROM pending_references").fetchall()
        orcid = conn.execute("SELECT external_id FROM agents").fetchall()
    assert refs == [("10.1000/abc",), ("10.1000/abc",), ("arXiv:2101.00001",)]
    assert owned == [("10.1000/abc",), ("arXiv:2101.00001",)]
    assert pending == [("10.2000/xyz",)]
    assert orcid == [("0000-0002-1825-0097",)]
    migrate.downgrade(empty_database_url, TEST_DIMENSIONS, "0005")
