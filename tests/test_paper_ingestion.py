"""paper-ingestion on papers built at test time in every format: the known claims come
out exactly, typed and placed, boilerplate stays out, the bibliography becomes
references with identifiers, tables become artifacts, and no DTD is ever fetched."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pypdf import PdfReader

from phiacta.extensions.base import ExtractionError, ExtractionResult, Source
from phiacta.extensions.paper_ingestion import PaperIngestion
from tests import papers
from tests.papers import Paper

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
    kind, result = extracted
    if kind in ("pdf", "text"):
        pytest.skip("tables are read from structured formats only")
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
