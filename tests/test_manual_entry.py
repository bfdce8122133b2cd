"""manual-entry: claims, edges and a source from YAML or JSON, every mistake reported
with its line and column."""

from __future__ import annotations

import json

import pytest

from phiacta.extensions.base import ExtractionError, ExtractionResult, Source
from phiacta.extensions.manual_entry import ManualEntry

GOOD = """\
source:
  type: paper
  title: Aspirin and first heart attacks
  identifiers: [doi:10.1000/XYZ, arXiv:2101.00001v2]
  authors:
    - {name: Ada Lovelace, orcid: 0000-0002-1825-0097}
    - Alan Turing
  year: 2024
claims:
  - id: c1
    content: Aspirin lowers the risk of a first heart attack in adults over 50.
    type: observation
    confidence: 0.9
  - id: c2
    content: Aspirin inhibits platelet aggregation.
edges:
  - {from: c1, to: c2, type: depends_on, strength: 0.8}
  - {from: c1, ref: "https://doi.org/10.1000/Cited", type: related_to}
"""


def _read(name: str, text: str) -> ExtractionResult:
    return ManualEntry().ingest(Source(content=text.encode(), name=name))


def test_a_yaml_file_gives_its_source_claims_and_edges() -> None:
    result = _read("entry.yaml", GOOD)
    assert result.source.title == "Aspirin and first heart attacks"
    assert result.source.identifiers == ["doi:10.1000/XYZ", "arXiv:2101.00001v2"]
    assert [(a.name, a.orcid) for a in result.source.authors] == [
        ("Ada Lovelace", "0000-0002-1825-0097"),
        ("Alan Turing", None),
    ]
    assert [(c.key, c.claim_type, c.confidence) for c in result.claims] == [
        ("c1", "observation", 0.9),
        ("c2", "assertion", None),
    ]
    assert [(e.source, e.edge_type, e.target, e.target_ref) for e in result.edges] == [
        ("c1", "depends_on", "c2", None),
        ("c1", "related_to", None, "https://doi.org/10.1000/Cited"),
    ]


def test_the_same_document_as_json_reads_the_same() -> None:
    import yaml

    as_json = json.dumps(yaml.safe_load(GOOD), indent=2)
    assert _read("entry.json", as_json) == _read("entry.yaml", GOOD)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "broken.json",
            '{"source": {"type": "paper"},\n "claims": [\n  {"id": "c1" "content": "x"}]}',
            "broken.json:3:15: (document):",
        ),
        (
            "edge.yaml",
            "source: {type: paper}\nclaims:\n  - {id: c1, content: A claim long enough to keep.}\n"
            "edges:\n  - {from: c1, to: c9, type: supports}\n",
            "edge.yaml:5:20: edges[0].to: no claim has id 'c9'",
        ),
        (
            "kind.yaml",
            "source:\n  type: podcast\nclaims:\n  - {id: c1, content: A claim.}\n",
            "kind.yaml:2:9: source.type: must be one of",
        ),
        (
            "empty.yaml",
            "source: {type: paper}\nclaims: []\n",
            "empty.yaml:2:9: claims: needs at least one claim",
        ),
    ],
)
def test_every_mistake_points_at_its_line_and_column(name: str, text: str, expected: str) -> None:
    with pytest.raises(ExtractionError) as caught:
        _read(name, text)
    assert expected in str(caught.value)
