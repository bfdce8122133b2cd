"""paper-ingestion on papers built at test time in every format: the known claims come
out exactly, typed and placed, boilerplate stays out, the bibliography becomes
references with identifiers, tables become artifacts, and no DTD is ever fetched."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from phiacta.extensions.base import ExtractionError, ExtractionResult, Source
from phiacta.extensions.paper_ingestion import PaperIngestion
from tests import papers
from tests.papers import Paper
from tests.support import make_settings

CITED = "https://doi.org/10.5555/Cited-Paper"


def _ingest(path: Path) -> ExtractionResult:
    return PaperIngestion().ingest(Source.from_path(path))


@pytest.fixture(scope="module", params=sorted(papers.WRITERS))
def extracted(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, ExtractionResult]:
    paper = Paper("Caffeine and reaction time", "10.5555/Self-DOI", cites=[CITED])
    folder = tmp_path_factory.mktemp(request.param)
    return request.param, _ingest(papers.WRITERS[request.param](paper, folder))


def test_every_known_claim_comes_out_exactly_in_reading_order(
    extracted: tuple[str, ExtractionResult],
) -> None:
    _, result = extracted
    contents = [c.content for c in result.claims]
    assert contents == [
        papers.ABSTRACT,
        *papers.METHODS,
        *papers.RESULTS,
        papers.CONCLUSION,
    ]
    positions = [c.position for c in result.claims]
    assert positions == sorted(positions) and None not in positions


def test_claims_are_typed_by_what_they_state_and_where(
    extracted: tuple[str, ExtractionResult],
) -> None:
    _, result = extracted
    typed = [(c.section, c.claim_type) for c in result.claims]
    assert typed == [
        ("abstract", "observation"),
        ("methods", "method"),
        ("methods", "method"),
        ("results", "observation"),
        ("results", "observation"),
        ("conclusion", "assertion"),
    ]
    assert all(c.confidence is not None and 0 < c.confidence <= 1 for c in result.claims)


def test_acknowledgements_and_background_are_left_out(
    extracted: tuple[str, ExtractionResult],
) -> None:
    _, result = extracted
    text = " ".join(c.content for c in result.claims)
    assert "thank" not in text and "grant" not in text
    assert papers.INTRODUCTION not in text


def test_the_paper_states_its_own_doi_and_metadata(extracted: tuple[str, ExtractionResult]) -> None:
    kind, result = extracted
    assert "10.5555/self-doi" in [i.lower() for i in result.source.identifiers]
    assert result.source.title == "Caffeine and reaction time"
    if kind in ("markdown", "jats"):
        assert result.source.authors[0].name == "Ada Lovelace"
        assert result.source.authors[0].orcid is not None
        assert result.source.year == 2024


def test_references_become_edges_to_the_cited_identifiers(
    extracted: tuple[str, ExtractionResult],
) -> None:
    _, result = extracted
    assert {"10.5555/cited-paper", papers.EXTERNAL_DOI} <= set(result.references)
    cites = [e for e in result.edges if e.target_ref == "10.5555/cited-paper"]
    # The sentence that cites it is the first results claim.
    by_key = {c.key: c for c in result.claims}
    assert [by_key[e.source].content for e in cites] == [papers.RESULTS[0]]


def test_results_support_conclusions_and_depend_on_methods(
    extracted: tuple[str, ExtractionResult],
) -> None:
    _, result = extracted
    content = {c.key: c.content for c in result.claims}
    pairs = {(content[e.source], e.edge_type, content[e.target]) for e in result.edges if e.target}
    assert (papers.RESULTS[0], "supports", papers.CONCLUSION) in pairs
    assert (papers.RESULTS[0], "depends_on", papers.METHODS[0]) in pairs


def test_tables_become_artifacts_with_their_rows(extracted: tuple[str, ExtractionResult]) -> None:
    _, result = extracted
    (table,) = result.artifacts
    assert table.artifact_type == "table"
    assert table.structured_data == {"rows": papers.TABLE}


def test_a_two_column_pdf_is_read_column_by_column(tmp_path: Path) -> None:
    path = papers.write_pdf(Paper("Two columns", "10.5555/two-col", cites=[CITED]), tmp_path)
    layout = PdfReader(path).pages[0].extract_text(extraction_mode="layout").splitlines()
    # The page really has two columns: one row holds the left column's heading and the
    # right column's continuation of a sentence begun at the bottom of the left one.
    assert any("Abstract" in row and "participants who slept" in row for row in layout)
    claims = [c.content for c in _ingest(path).claims]
    assert claims[4] == papers.RESULTS[1]
    assert claims[5] == papers.CONCLUSION


class _CountingHandler(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:
        _CountingHandler.requests.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'<!ENTITY % evil SYSTEM "http://127.0.0.1:9/x">')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def dtd_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/JATS-journalpublishing1.dtd"
    finally:
        server.shutdown()
        server.server_close()


def test_jats_never_fetches_the_dtd_its_doctype_names(tmp_path: Path, dtd_server: str) -> None:
    _CountingHandler.requests.clear()
    path = papers.write_jats(Paper("JATS", "10.5555/jats", cites=[CITED]), tmp_path, dtd_server)
    assert dtd_server in path.read_text()
    assert len(_ingest(path).claims) == 6
    assert _CountingHandler.requests == []


def test_jats_with_an_external_entity_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE article [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        "\n<article><body><p>&xxe;</p></body></article>\n"
    )
    with pytest.raises(ExtractionError, match=r"evil\.xml"):
        _ingest(path)


def test_opposite_effects_stated_in_one_paper_are_recorded_as_contradicting(
    tmp_path: Path,
) -> None:
    path = tmp_path / "paper.txt"
    path.write_text(
        "Two trials of one drug\n\nResults\n"
        "Drug X increased systolic blood pressure in elderly patients by 4.1 mmHg.\n\n"
        "Drug X decreased systolic blood pressure in elderly patients by 2.3 mmHg.\n"
    )
    result = _ingest(path)
    assert [e.edge_type for e in result.edges if e.edge_type == "contradicts"] == ["contradicts"]


def test_sentences_survive_abbreviations_and_decimals(tmp_path: Path) -> None:
    sentence = (
        "Smith et al. found that dose A (e.g. 2.5 mg/kg, see Fig. 3) reduced the error "
        "rate by 13.75% compared with i.v. saline."
    )
    path = tmp_path / "paper.txt"
    path.write_text(f"A paper\n\nResults\n{sentence} A second result increased 3-fold.\n")
    assert _ingest(path).claims[0].content == sentence


def test_a_sentence_ends_after_et_al_or_an_initial_when_a_new_one_begins(
    tmp_path: Path,
) -> None:
    sentences = [
        "The error rate increased by 4.5% in treated mice, as shown by Smith et al.",
        "We found that the effect of vitamin D on bone density was significantly larger.",
        "J. Smith et al. reported that the dose reduced the error rate by 13.75% in 2019.",
    ]
    path = tmp_path / "paper.txt"
    path.write_text("A paper\n\nResults\n" + " ".join(sentences) + "\n")
    assert [c.content for c in _ingest(path).claims] == sentences


def test_code_and_broken_pieces_are_no_claims_and_a_doi_broken_over_lines_is_whole(
    tmp_path: Path,
) -> None:
    finding = "The robust standard errors increased by 12.5% in the clustered model [1]."
    path = tmp_path / "paper.txt"
    path.write_text(
        "A paper\n\nResults\n"
        f"{finding}\n\n"
        "R> fm <- lm(y ~ x, data = d) increased the fit by 2.5 units.\n\n"
        "and Boos (2002) showed that the variance increased by 3 units.\n\n"
        "References\n"
        "[1] A. Author. A study. Oxford Bulletin, 49(4), 431-434. doi:10.1111/j.1468-0084.\n"
        "1987.mp49004006.x.\n"
    )
    result = _ingest(path)
    assert [c.content for c in result.claims] == [finding.replace(" [1]", "")]
    assert result.references == ["10.1111/j.1468-0084.1987.mp49004006.x"]


class _FakeChat(BaseHTTPRequestHandler):
    """A chat-completions endpoint: records each request, answers with fixed claims
    (one of them with a number the paper never printed)."""

    bodies: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _FakeChat.bodies.append(body)
        section = body["messages"][1]["content"]
        claims = []
        if section.startswith("Section: Results"):
            claims = [
                {"content": papers.RESULTS[0], "claim_type": "observation", "confidence": 0.9},
                {
                    "content": "Caffeine cut reaction time by 99.9 ms.",
                    "claim_type": "observation",
                    "confidence": 0.8,
                },
            ]
        elif section.startswith("Section: Methods"):
            claims = [{"content": papers.METHODS[0], "claim_type": "method", "confidence": 0.7}]
        answer = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "fake",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": json.dumps({"claims": claims})},
                }
            ],
        }
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_the_openai_extractor_asks_per_section_against_a_json_schema(
    tmp_path: Path, database_url: str
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeChat)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _FakeChat.bodies.clear()
    try:
        settings = make_settings(
            database_url,
            tmp_path / "data",
            openai_api_key="sk-test",
            openai_base_url=f"http://127.0.0.1:{server.server_address[1]}/v1",
            paper_extractor="openai",
        )
        path = papers.write_markdown(Paper("LLM", "10.5555/llm", cites=[CITED]), tmp_path)
        result = PaperIngestion.from_settings(settings).ingest(Source.from_path(path))
    finally:
        server.shutdown()
        server.server_close()
    assert [(c.content, c.claim_type) for c in result.claims] == [
        (papers.METHODS[0], "method"),
        (papers.RESULTS[0], "observation"),
    ]
    assert {c.extraction_method for c in result.claims} == {"paper-ingestion/openai"}
    assert any("99.9" in w for w in result.warnings)
    sections = [b["messages"][1]["content"].split("\n")[0] for b in _FakeChat.bodies]
    assert "Section: Acknowledgements" not in sections and "Section: Results" in sections
    schema = _FakeChat.bodies[0]["response_format"]
    assert schema["type"] == "json_schema" and schema["json_schema"]["strict"] is True
    # The citing claim still cites, and the results depend on the method.
    assert "10.5555/cited-paper" in result.references
    assert any(e.edge_type == "depends_on" for e in result.edges)


def test_more_claims_than_a_bundle_holds_keeps_the_most_confident_in_order() -> None:
    from phiacta.extensions.base import ExtractedClaim, ExtractedEdge, SourceMetadata
    from phiacta.extensions.runner import keep_most_confident

    claims = [
        ExtractedClaim(key=f"k{i}", content=f"claim {i}", confidence=c, position=i)
        for i, c in enumerate([0.5, 0.9, 0.4, 0.8, 0.7])
    ]
    edges = [ExtractedEdge("k1", "supports", target="k3"), ExtractedEdge("k2", "supports", "k3")]
    kept = keep_most_confident(ExtractionResult(SourceMetadata(), claims, edges), 3)
    assert [c.key for c in kept.claims] == ["k1", "k3", "k4"]
    assert [(e.source, e.target) for e in kept.edges] == [("k1", "k3")]
    assert kept.warnings == ["2 least confident claims left out (a bundle holds at most 3)"]
