"""Export formats: each turns a stream of exported records into a stream of text.

A writer takes the records `store.export` yields, (kind, records) pairs, and yields
pieces of the file; NDJSON has none, PostgreSQL writes its lines. None holds more
than `RDF_BATCH` records at a time: RDF formats are serialized batch by batch
(N-Triples is line-based; Turtle and TriG allow their prefix lines again before each
batch; JSON-LD batches are spliced into one `@graph`), so a million claims export in
the same memory as a thousand.

| format | what | records |
|---|---|---|
| ndjson | one JSON object per line, `type` first; re-importable | everything |
| jsonld | one JSON-LD document, `@context` + `@graph` | everything |
| turtle, ntriples | RDF (see `vocabulary`) | everything |
| trig | one nanopublication per claim version | per claim |
| bibtex, csljson | reference-manager entries | sources |
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, XSD

from phiacta.store.export import KINDS
from phiacta.transfer import vocabulary as v

Record = dict[str, Any]
# Records in batches of one kind.
Records = AsyncIterator[tuple[str, list[Record]]]
RDF_BATCH = 1000
NANOPUB_BASE = "https://phiacta.org/np/"


@dataclass(frozen=True)
class Format:
    name: str
    media_type: str
    extension: str
    # The record kinds the writer needs, in order ("nanopub": one object per claim).
    kinds: tuple[str, ...]
    # None: the database writes the format itself (NDJSON, `store.export.export_ndjson`).
    write: Callable[[Records], AsyncIterator[bytes]] | None


async def _batches(records: Records, size: int = RDF_BATCH) -> AsyncIterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    async for _, some in records:
        batch.extend(some)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _graph_of(batch: list[dict[str, Any]]) -> Graph:
    graph = v.new_graph()
    for record in batch:
        v.ADDERS[record["type"]](graph, record)
    return graph


async def write_ntriples(records: Records) -> AsyncIterator[bytes]:
    async for batch in _batches(records):
        yield _graph_of(batch).serialize(format="nt", encoding="utf-8")


async def write_turtle(records: Records) -> AsyncIterator[bytes]:
    async for batch in _batches(records):
        yield _graph_of(batch).serialize(format="turtle", encoding="utf-8") + b"\n"


JSONLD_CONTEXT = {prefix: str(namespace) for prefix, namespace in v.PREFIXES.items()}


async def write_jsonld(records: Records) -> AsyncIterator[bytes]:
    yield b'{"@context": ' + orjson.dumps(JSONLD_CONTEXT) + b', "@graph": ['
    first = True
    async for batch in _batches(records):
        nodes = orjson.loads(_graph_of(batch).serialize(format="json-ld"))
        for node in nodes:
            yield (b"\n" if first else b",\n") + orjson.dumps(node)
            first = False
    yield b"\n]}\n"


def nanopub_uri(claim_id: object) -> URIRef:
    return URIRef(f"{NANOPUB_BASE}{claim_id}")


def add_nanopub(dataset: Dataset, item: dict[str, Any]) -> None:
    """One claim version as a nanopublication: head, assertion, provenance, pubinfo."""
    claim = item["claim"]
    np = nanopub_uri(claim["id"])
    head, assertion = URIRef(f"{np}#Head"), URIRef(f"{np}#assertion")
    provenance, pubinfo = URIRef(f"{np}#provenance"), URIRef(f"{np}#pubinfo")
    graph = dataset.graph(head)
    graph.add((np, RDF.type, v.NP.Nanopublication))
    graph.add((np, v.NP.hasAssertion, assertion))
    graph.add((np, v.NP.hasProvenance, provenance))
    graph.add((np, v.NP.hasPublicationInfo, pubinfo))

    graph = dataset.graph(assertion)
    v.add_claim(graph, claim, item.get("namespace_path"))
    for edge in item["edges"]:
        v.add_edge(graph, edge)

    graph = dataset.graph(provenance)
    creator = claim.get("created_by")
    if creator:
        graph.add((assertion, PROV.wasAttributedTo, v.uri(creator)))
    for record in item["provenance"]:
        graph.add((assertion, PROV.wasDerivedFrom, v.uri(record["source_id"])))
        v.add_provenance(graph, record)
    for record in item["sources"]:
        v.add_source(graph, record)
    for record in item["agents"]:
        v.add_agent(graph, record)
    for record in item["namespaces"]:
        v.add_namespace(graph, record)

    graph = dataset.graph(pubinfo)
    graph.add((np, DCTERMS.created, Literal(claim["created_at"], datatype=XSD.dateTime)))
    if creator:
        graph.add((np, DCTERMS.creator, v.uri(creator)))
        graph.add((np, PROV.wasAttributedTo, v.uri(creator)))


async def write_trig(records: Records) -> AsyncIterator[bytes]:
    async for batch in _batches(records, size=RDF_BATCH // 4):
        dataset = Dataset()
        v.bind_prefixes(dataset)
        for item in batch:
            add_nanopub(dataset, item)
        yield dataset.serialize(format="trig", encoding="utf-8") + b"\n"


# Reference managers: sources only.

BIBTEX_TYPES = {"paper": "article", "preprint": "misc", "dataset": "misc", "code": "software"}
_BIBTEX_SPECIAL = re.compile(r"([{}\\&%$#_^~])")


def _bibtex_escape(text: str) -> str:
    return _BIBTEX_SPECIAL.sub(r"\\\1", text)


def bibtex_entry(source: dict[str, Any]) -> str:
    fields = {"title": source.get("title")}
    ref = source.get("external_ref") or ""
    if ref.startswith("10."):
        fields["doi"] = ref
    elif ref.startswith(("http://", "https://")):
        fields["url"] = ref
    elif ref:
        fields["note"] = ref
    fields["year"] = str(source["created_at"])[:4] if not fields.get("doi") else None
    body = ",\n".join(
        f"  {name} = {{{_bibtex_escape(value)}}}" for name, value in fields.items() if value
    )
    kind = BIBTEX_TYPES.get(source["source_type"], "misc")
    return f"@{kind}{{{source['id']},\n{body}\n}}\n\n"


async def write_bibtex(records: Records) -> AsyncIterator[bytes]:
    async for _, batch in records:
        yield "".join(bibtex_entry(record) for record in batch).encode()


CSL_TYPES = {
    "paper": "article-journal",
    "preprint": "article",
    "dataset": "dataset",
    "code": "software",
    "url": "webpage",
    "recording": "song",
    "photo": "graphic",
    "conversation": "interview",
    "manual_entry": "document",
}


def csl_item(source: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": source["id"],
        "type": CSL_TYPES.get(source["source_type"], "document"),
    }
    if source.get("title"):
        item["title"] = source["title"]
    ref = source.get("external_ref") or ""
    if ref.startswith("10."):
        item["DOI"] = ref
    elif ref.startswith(("http://", "https://")):
        item["URL"] = ref
    return item


async def write_csljson(records: Records) -> AsyncIterator[bytes]:
    yield b"["
    first = True
    async for _, batch in records:
        for record in batch:
            yield (b"\n" if first else b",\n") + orjson.dumps(csl_item(record))
            first = False
    yield b"\n]\n"


FORMATS = {
    f.name: f
    for f in (
        Format("ndjson", "application/x-ndjson", "ndjson", KINDS, None),
        Format("jsonld", "application/ld+json", "jsonld", KINDS, write_jsonld),
        Format("turtle", "text/turtle", "ttl", KINDS, write_turtle),
        Format("ntriples", "application/n-triples", "nt", KINDS, write_ntriples),
        Format("trig", "application/trig", "trig", ("nanopub",), write_trig),
        Format("bibtex", "application/x-bibtex", "bib", ("source",), write_bibtex),
        Format(
            "csljson", "application/vnd.citationstyles.csl+json", "json", ("source",), write_csljson
        ),
    )
}
