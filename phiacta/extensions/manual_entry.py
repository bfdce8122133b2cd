"""`manual-entry`: claims, edges and their source written by hand in YAML or JSON.

The format (JSON uses the same keys)::

    source:                      # required
      type: paper                # paper, preprint, dataset, url, manual_entry, ...
      title: Aspirin and first heart attacks
      identifiers: [doi:10.1000/xyz, arXiv:2101.00001]   # optional, any spelling
      authors: [{name: Ada Lovelace, orcid: 0000-0002-1825-0097}]
      year: 2024
      venue: Journal of Examples
    claims:                      # at least one
      - id: c1                   # your name for it inside this file
        content: Aspirin lowers the risk of a first heart attack in adults over 50.
        type: observation        # assertion (default), observation, method, definition, ...
        confidence: 0.9          # optional, 0..1
        section: results         # optional
    edges:                       # optional
      - {from: c1, to: c2, type: supports, strength: 0.8}
      - {from: c1, ref: doi:10.1000/cited, type: related_to}   # a cited work

Every mistake is reported at once as `file:line:column: path: message`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from phiacta.auth.manifest import Manifest
from phiacta.extensions.base import (
    Author,
    ExtractedClaim,
    ExtractedEdge,
    ExtractionError,
    ExtractionResult,
    InputExtension,
    Source,
    SourceMetadata,
)
from phiacta.ingest.validate import CLAIM_TYPES, SOURCE_TYPES

MANIFEST = Manifest(
    id="manual-entry",
    name="Manual entry",
    version="1.0.0",
    capabilities=("ingest:yaml", "ingest:json"),
    claim_types=tuple(sorted(CLAIM_TYPES)),
    edge_types=(),
)
SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class _Problem:
    line: int
    column: int
    path: str
    message: str


class _Document:
    """The parsed document and the line and column of every value in it, by path."""

    def __init__(self, text: str) -> None:
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            where = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            raise _Invalid([_Problem(*where, "", str(exc.problem or exc))]) from None
        self.marks: dict[str, tuple[int, int]] = {}
        if node is None:
            self.data: Any = None
            return
        self._mark(node, "")
        self.data = yaml.SafeLoader("").construct_document(node)

    def _mark(self, node: yaml.Node, path: str) -> None:
        self.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self._mark(value, f"{path}.{key.value}" if path else str(key.value))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._mark(item, f"{path}[{i}]")

    def at(self, path: str) -> tuple[int, int]:
        """Where the value at `path` is, or its nearest enclosing value."""
        while path not in self.marks and path:
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return self.marks.get(path, (1, 1))


class _Invalid(Exception):
    def __init__(self, problems: list[_Problem]) -> None:
        self.problems = problems


class ManualEntry(InputExtension):
    manifest = MANIFEST

    def accepts(self, source: Source) -> bool:
        return source.name.lower().endswith(SUFFIXES)

    def ingest(self, source: Source) -> ExtractionResult:
        try:
            doc = _Document(source.text())
            return _Reader(doc).result()
        except _Invalid as exc:
            raise ExtractionError(
                "\n".join(
                    f"{source.name}:{p.line}:{p.column}: {p.path or '(document)'}: {p.message}"
                    for p in exc.problems
                )
            ) from None


class _Reader:
    def __init__(self, doc: _Document) -> None:
        self.doc = doc
        self.problems: list[_Problem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(_Problem(*self.doc.at(path), path, message))

    def mapping(self, value: Any, path: str) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        self.problem(path, "must be a mapping (key: value lines)")
        return {}

    def items(self, data: dict[str, Any], key: str, path: str) -> Iterator[tuple[str, Any]]:
        value = data.get(key)
        where = f"{path}.{key}" if path else key
        if value is None:
            return
        if not isinstance(value, list):
            self.problem(where, "must be a list")
            return
        for i, item in enumerate(value):
            yield f"{where}[{i}]", item

    def text(self, data: dict[str, Any], key: str, path: str, required: bool = False) -> str | None:
        value = data.get(key)
        where = f"{path}.{key}" if path else key
        if value is None:
            if required:
                self.problem(path, f"`{key}` is missing")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.problem(where, "must be text")
            return None
        if not str(value).strip():
            self.problem(where, "must not be empty")
            return None
        return str(value).strip()

    def number(self, data: dict[str, Any], key: str, path: str) -> float | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            self.problem(f"{path}.{key}", "must be a number from 0 to 1")
            return None
        return float(value)

    def choice(
        self, data: dict[str, Any], key: str, path: str, allowed: frozenset[str], default: str
    ) -> str:
        value = self.text(data, key, path) or default
        if value.lower() not in allowed:
            self.problem(f"{path}.{key}", f"must be one of {', '.join(sorted(allowed))}")
        return value.lower()

    def result(self) -> ExtractionResult:
        root = self.mapping(self.doc.data, "")
        unknown = sorted(set(root) - {"source", "claims", "edges"})
        for key in unknown:
            self.problem(key, "unknown key (expected source, claims, edges)")
        source = self.source(root)
        claims = [
            self.claim(path, raw, i) for i, (path, raw) in enumerate(self.items(root, "claims", ""))
        ]
        if "claims" in root and not claims and isinstance(root.get("claims"), list):
            self.problem("claims", "needs at least one claim")
        elif "claims" not in root:
            self.problem("", "`claims` is missing")
        keys = [c.key for c in claims]
        edges = [self.edge(path, raw, set(keys)) for path, raw in self.items(root, "edges", "")]
        seen: set[str] = set()
        for i, key in enumerate(keys):
            if key in seen:
                self.problem(f"claims[{i}].id", f"{key!r} is used twice")
            seen.add(key)
        if self.problems:
            raise _Invalid(self.problems)
        return ExtractionResult(
            source=source, claims=claims, edges=[e for e in edges if e is not None]
        )

    def source(self, root: dict[str, Any]) -> SourceMetadata:
        if "source" not in root:
            self.problem("", "`source` is missing")
            return SourceMetadata()
        data = self.mapping(root["source"], "source")
        kind = self.choice(data, "type", "source", SOURCE_TYPES, "manual_entry")
        identifiers = []
        for path, value in self.items(data, "identifiers", "source"):
            if isinstance(value, str):
                identifiers.append(value)
            else:
                self.problem(path, "must be text")
        authors = []
        for path, raw in self.items(data, "authors", "source"):
            if isinstance(raw, str):
                authors.append(Author(raw))
                continue
            author = self.mapping(raw, path)
            name = self.text(author, "name", path, required=True)
            if name:
                authors.append(Author(name, self.text(author, "orcid", path)))
        year = data.get("year")
        if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
            self.problem("source.year", "must be a whole number")
            year = None
        return SourceMetadata(
            source_type=kind,
            title=self.text(data, "title", "source"),
            identifiers=identifiers,
            authors=authors,
            year=year,
            venue=self.text(data, "venue", "source"),
        )

    def claim(self, path: str, raw: Any, position: int) -> ExtractedClaim:
        data = self.mapping(raw, path)
        return ExtractedClaim(
            key=self.text(data, "id", path) or f"claim-{position}",
            content=self.text(data, "content", path, required=True) or "",
            claim_type=self.choice(data, "type", path, CLAIM_TYPES, "assertion"),
            confidence=self.number(data, "confidence", path),
            section=self.text(data, "section", path),
            position=position,
            extraction_method="manual-entry",
        )

    def edge(self, path: str, raw: Any, keys: set[str]) -> ExtractedEdge | None:
        data = self.mapping(raw, path)
        source = self.text(data, "from", path, required=True)
        target = self.text(data, "to", path)
        ref = self.text(data, "ref", path)
        kind = self.text(data, "type", path, required=True)
        strength = self.number(data, "strength", path)
        if source is not None and source not in keys:
            self.problem(f"{path}.from", f"no claim has id {source!r}")
        if (target is None) == (ref is None):
            self.problem(path, "give exactly one of `to` (a claim id) and `ref` (a cited work)")
        elif target is not None and target not in keys:
            self.problem(f"{path}.to", f"no claim has id {target!r}")
        if source is None or kind is None:
            return None
        return ExtractedEdge(
            source=source,
            edge_type=kind,
            target=target,
            target_ref=ref,
            strength=1.0 if strength is None else strength,
        )
