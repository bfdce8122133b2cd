"""What an extension is: a manifest, and `ingest` (input) or `query` (output).

An input extension turns one source document into an `ExtractionResult`: the source's
metadata, the claims found in it, the edges between them (or to works it cites), and
artifacts such as tables. It never writes: the runner (`phiacta.extensions.runner`)
turns the result into one bundle and submits it. Extensions are plain classes; nothing
here does I/O.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from phiacta.auth.manifest import Manifest

__all__ = [
    "ExtractedArtifact",
    "ExtractedClaim",
    "ExtractedEdge",
    "ExtractionResult",
    "InputExtension",
    "Manifest",
    "OutputExtension",
    "Source",
    "SourceMetadata",
]


@dataclass(frozen=True)
class Source:
    """One document to ingest: its bytes and where they came from. Files next to it
    (a BibTeX file beside a Markdown paper, a LaTeX tree) are read through `path`."""

    content: bytes
    name: str
    path: Path | None = None

    @classmethod
    def from_path(cls, path: Path) -> Source:
        return cls(content=path.read_bytes(), name=path.name, path=path)

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    def text(self) -> str:
        """The content as text (UTF-8, undecodable bytes replaced)."""
        return self.content.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Author:
    name: str
    orcid: str | None = None


@dataclass
class SourceMetadata:
    source_type: str = "paper"
    title: str | None = None
    # The identifiers the document states about itself, any spelling; the first is the
    # source's external reference.
    identifiers: list[str] = field(default_factory=list)
    authors: list[Author] = field(default_factory=list)
    year: int | None = None
    venue: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExtractedClaim:
    """One claim. `key` names it inside the result (edges and artifacts use it);
    `position` is its place in reading order."""

    key: str
    content: str
    claim_type: str = "assertion"
    confidence: float | None = None
    section: str | None = None
    position: int | None = None
    extraction_method: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExtractedEdge:
    """`source` is a claim key; the target is a claim key or an external identifier
    (a cited work's DOI): exactly one of `target` and `target_ref`."""

    source: str
    edge_type: str
    target: str | None = None
    target_ref: str | None = None
    strength: float = 1.0
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExtractedArtifact:
    artifact_type: str
    description: str | None = None
    content_inline: str | None = None
    structured_data: Any = None
    claim_keys: tuple[str, ...] = ()
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExtractionResult:
    source: SourceMetadata
    claims: list[ExtractedClaim] = field(default_factory=list)
    edges: list[ExtractedEdge] = field(default_factory=list)
    artifacts: list[ExtractedArtifact] = field(default_factory=list)
    # What the reader of the summary should know (a section skipped, a reference
    # without identifier); never a reason to fail.
    warnings: list[str] = field(default_factory=list)

    @property
    def references(self) -> list[str]:
        """The external identifiers the edges point at (cited works), each once."""
        return list(dict.fromkeys(e.target_ref for e in self.edges if e.target_ref))


class InputExtension(ABC):
    """Reads sources into claims. Subclasses set `manifest` and implement `ingest`."""

    manifest: Manifest

    @abstractmethod
    def ingest(self, source: Source) -> ExtractionResult:
        """Everything the extension finds in `source`. Raise `ExtractionError` for a
        document it cannot read."""

    def accepts(self, source: Source) -> bool:
        """Whether this extension reads this kind of document (for detection)."""
        return False


class OutputExtension(ABC):
    """Answers requests from the graph (a report, an export, a feed). It holds its own
    way to read the graph, typically the SDK's client."""

    manifest: Manifest

    @abstractmethod
    def query(self, request: Any) -> Any:
        """The response to `request`."""


class ExtractionError(Exception):
    """A document the extension cannot read; the message says where and why."""
