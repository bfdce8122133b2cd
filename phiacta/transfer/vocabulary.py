"""Phiacta's knowledge as RDF: the vocabulary and the mapping of each exported record.

Every entity is named by its id as a URN (`urn:uuid:<id>`), so the same claim has the
same name in every export, from every server. Terms come from:

- schema.org (`schema:`): claims are `schema:Claim` with `schema:text`, reviews
  `schema:Review` (`schema:itemReviewed`, `schema:author`, `schema:reviewBody`), sources
  `schema:ScholarlyArticle` / `schema:Dataset` / `schema:CreativeWork` with
  `schema:name` and `schema:identifier`; `schema:dateCreated` everywhere.
- PROV-O (`prov:`): agents are `prov:Agent` (`prov:Person`, `prov:Organization`,
  `prov:SoftwareAgent`); a claim `prov:wasAttributedTo` its creator,
  `prov:wasDerivedFrom` its sources, `prov:wasRevisionOf` the version it supersedes;
  each provenance row is a `prov:Derivation` (`prov:entity` the source, `prov:agent`
  the extractor) reached by `prov:qualifiedDerivation`.
- Phiacta's own namespace `phi:` (https://phiacta.org/ns#): `phi:claimType`,
  `phi:status`, `phi:lineage`, `phi:version`, `phi:namespace` (the dotted path),
  `phi:confidence`, `phi:verdict`, `phi:strength`, ..., and one object property per
  edge type (`phi:supports`, `phi:contradicts`, ...) declared with `owl:inverseOf` its
  inverse, and typed `owl:TransitiveProperty` / `owl:SymmetricProperty` as the edge
  type is, so a reasoner draws the same conclusions traversal does. Each edge is the
  direct triple (`<a> phi:supports <b>`) plus a reified `phi:Edge` carrying its id,
  strength and creator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rdflib import OWL, RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, PROV, SDO

PHI = Namespace("https://phiacta.org/ns#")
SCHEMA = SDO
NP = Namespace("http://www.nanopub.org/nschema#")

PREFIXES = {
    "phi": PHI,
    "schema": SCHEMA,
    "prov": PROV,
    "owl": OWL,
    "rdfs": RDFS,
    "xsd": XSD,
    "dct": DCTERMS,
    "np": NP,
}

Record = Mapping[str, Any]

AGENT_CLASSES = {
    "human": PROV.Person,
    "organization": PROV.Organization,
    "ai": PROV.SoftwareAgent,
    "pipeline": PROV.SoftwareAgent,
    "extension": PROV.SoftwareAgent,
}
SOURCE_CLASSES = {
    "paper": SCHEMA.ScholarlyArticle,
    "preprint": SCHEMA.ScholarlyArticle,
    "dataset": SCHEMA.Dataset,
    "code": SCHEMA.SoftwareSourceCode,
    "recording": SCHEMA.MediaObject,
    "photo": SCHEMA.Photograph,
    "url": SCHEMA.WebPage,
    "conversation": SCHEMA.Conversation,
    "manual_entry": SCHEMA.CreativeWork,
}


def uri(id_: object) -> URIRef:
    return URIRef(f"urn:uuid:{id_}")


def edge_property(name: str) -> URIRef:
    return PHI[name]


def new_graph() -> Graph:
    graph = Graph()
    bind_prefixes(graph)
    return graph


def bind_prefixes(graph: Graph) -> None:
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace, override=True)


def _add(
    graph: Graph, subject: URIRef, predicate: URIRef, value: Any, datatype: Any = None
) -> None:
    if value is None:
        return
    graph.add((subject, predicate, Literal(value, datatype=datatype)))


def _created(graph: Graph, subject: URIRef, record: Record) -> None:
    _add(graph, subject, SCHEMA.dateCreated, record.get("created_at"), XSD.dateTime)


def add_agent(graph: Graph, record: Record) -> None:
    agent = uri(record["id"])
    graph.add((agent, RDF.type, PROV.Agent))
    graph.add((agent, RDF.type, AGENT_CLASSES.get(record["agent_type"], PROV.Agent)))
    _add(graph, agent, SCHEMA.name, record["name"])
    _add(graph, agent, PHI.agentType, record["agent_type"])
    _add(graph, agent, SCHEMA.identifier, record.get("external_id"))
    _add(graph, agent, PHI.trustScore, record.get("trust_score"), XSD.double)
    _created(graph, agent, record)


def add_namespace(graph: Graph, record: Record) -> None:
    namespace = uri(record["id"])
    graph.add((namespace, RDF.type, PHI.Namespace))
    _add(graph, namespace, SCHEMA.name, record["name"])
    _add(graph, namespace, PHI.path, record["path"])
    if record.get("parent_id"):
        graph.add((namespace, SCHEMA.isPartOf, uri(record["parent_id"])))
    _add(graph, namespace, SCHEMA.description, record.get("description"))
    _created(graph, namespace, record)


def add_edge_type(graph: Graph, record: Record) -> None:
    prop = edge_property(record["name"])
    graph.add((prop, RDF.type, OWL.ObjectProperty))
    graph.add((prop, RDFS.label, Literal(record["name"])))
    _add(graph, prop, RDFS.comment, record.get("description"))
    _add(graph, prop, PHI.category, record["category"])
    if record.get("inverse_name"):
        graph.add((prop, OWL.inverseOf, edge_property(record["inverse_name"])))
    if record.get("is_transitive"):
        graph.add((prop, RDF.type, OWL.TransitiveProperty))
    if record.get("is_symmetric"):
        graph.add((prop, RDF.type, OWL.SymmetricProperty))
    if record.get("is_anti_reflexive"):
        graph.add((prop, RDF.type, OWL.IrreflexiveProperty))


def add_source(graph: Graph, record: Record) -> None:
    source = uri(record["id"])
    graph.add((source, RDF.type, PROV.Entity))
    graph.add((source, RDF.type, SOURCE_CLASSES.get(record["source_type"], SCHEMA.CreativeWork)))
    _add(graph, source, PHI.sourceType, record["source_type"])
    _add(graph, source, SCHEMA.name, record.get("title"))
    _add(graph, source, SCHEMA.identifier, record.get("external_ref"))
    ref = record.get("external_ref") or ""
    if ref.startswith("10."):
        graph.add((source, SCHEMA.sameAs, URIRef(f"https://doi.org/{ref}")))
    elif ref.startswith(("http://", "https://")):
        graph.add((source, SCHEMA.url, URIRef(ref)))
    _add(graph, source, PHI.contentHash, record.get("content_hash"))
    if record.get("submitted_by"):
        graph.add((source, PROV.wasAttributedTo, uri(record["submitted_by"])))
    _created(graph, source, record)


def add_claim(graph: Graph, record: Record, namespace_path: str | None = None) -> None:
    claim = uri(record["id"])
    graph.add((claim, RDF.type, SCHEMA.Claim))
    graph.add((claim, RDF.type, PROV.Entity))
    _add(graph, claim, SCHEMA.text, record["content"])
    _add(graph, claim, PHI.formalContent, record.get("formal_content"))
    _add(graph, claim, PHI.claimType, record["claim_type"])
    _add(graph, claim, PHI.status, record["status"])
    graph.add((claim, PHI.lineage, uri(record["lineage_id"])))
    _add(graph, claim, PHI.version, record["version"], XSD.integer)
    if record.get("namespace_id"):
        graph.add((claim, SCHEMA.isPartOf, uri(record["namespace_id"])))
    _add(graph, claim, PHI.namespace, namespace_path)
    if record.get("created_by"):
        graph.add((claim, PROV.wasAttributedTo, uri(record["created_by"])))
    if record.get("supersedes"):
        graph.add((claim, PROV.wasRevisionOf, uri(record["supersedes"])))
    _created(graph, claim, record)


def add_provenance(graph: Graph, record: Record) -> None:
    claim, derivation = uri(record["claim_id"]), uri(record["id"])
    graph.add((claim, PROV.wasDerivedFrom, uri(record["source_id"])))
    graph.add((claim, PROV.qualifiedDerivation, derivation))
    graph.add((derivation, RDF.type, PROV.Derivation))
    graph.add((derivation, PROV.entity, uri(record["source_id"])))
    if record.get("extracted_by"):
        graph.add((derivation, PROV.agent, uri(record["extracted_by"])))
    _add(graph, derivation, PHI.extractionMethod, record.get("extraction_method"))
    _add(graph, derivation, PHI.locationInSource, record.get("location_in_source"))
    _add(graph, derivation, PHI.confidence, record.get("confidence"), XSD.double)
    _created(graph, derivation, record)


def add_edge(graph: Graph, record: Record) -> None:
    source, target = uri(record["source_id"]), uri(record["target_id"])
    prop = edge_property(record["edge_type"])
    graph.add((source, prop, target))
    edge = uri(record["id"])
    graph.add((edge, RDF.type, PHI.Edge))
    graph.add((edge, RDF.subject, source))
    graph.add((edge, RDF.predicate, prop))
    graph.add((edge, RDF.object, target))
    _add(graph, edge, PHI.strength, record["strength"], XSD.double)
    if record.get("created_by"):
        graph.add((edge, PROV.wasAttributedTo, uri(record["created_by"])))
    if record.get("source_provenance"):
        graph.add((edge, PROV.wasDerivedFrom, uri(record["source_provenance"])))
    _created(graph, edge, record)


def add_review(graph: Graph, record: Record) -> None:
    review = uri(record["id"])
    graph.add((review, RDF.type, SCHEMA.Review))
    graph.add((review, SCHEMA.itemReviewed, uri(record["claim_id"])))
    graph.add((review, SCHEMA.author, uri(record["reviewer_id"])))
    _add(graph, review, PHI.verdict, record["verdict"])
    _add(graph, review, PHI.confidence, record["confidence"], XSD.double)
    _add(graph, review, SCHEMA.reviewBody, record.get("comment"))
    _created(graph, review, record)
    _add(graph, review, SCHEMA.dateModified, record.get("updated_at"), XSD.dateTime)


ADDERS = {
    "agent": add_agent,
    "namespace": add_namespace,
    "edge_type": add_edge_type,
    "source": add_source,
    "claim": add_claim,
    "provenance": add_provenance,
    "edge": add_edge,
    "review": add_review,
}
