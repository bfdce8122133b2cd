"""The `ingest_paper` tool's reading side: a document an agent sent, as a bundle.

The agent sends the document itself (text, or base64 bytes for a PDF), never a path:
the server may run elsewhere than the agent. The paper-ingestion extension reads it as
`phiacta ingest` would (same readers, same claim choice, same idempotency key: the
extension version and the document's SHA-256), and the bundle it makes goes through
GraphQL's `submitBundle` as the caller's agent, so scopes, limits, audit lines and
events are GraphQL's. Every problem with the input is a VALIDATION_FAILED with the
argument's name as its path.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Literal

from phiacta.errors import FieldProblem, LimitExceeded, ValidationFailed
from phiacta.extensions.base import ExtractionError, InputExtension, Source
from phiacta.extensions.runner import bundle_input, keep_most_confident, to_bundle

PaperFormat = Literal["pdf", "markdown", "jats", "latex", "text"]
SUFFIXES: dict[str, str] = {
    "pdf": ".pdf",
    "markdown": ".md",
    "jats": ".xml",
    "latex": ".tex",
    "text": ".txt",
}
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def paper_source(
    format: str,
    content: str | None,
    content_base64: str | None,
    name: str | None,
    max_bytes: int,
) -> Source:
    """The document as the extension reads it; every bad argument reported at once."""
    problems: list[FieldProblem] = []
    suffix = SUFFIXES.get(format)
    if suffix is None:
        problems.append(FieldProblem("format", f"one of {', '.join(SUFFIXES)}"))
    if (content is None) == (content_base64 is None):
        problems.append(FieldProblem("content", "give exactly one of content and content_base64"))
    elif format == "pdf" and content is not None:
        problems.append(FieldProblem("content", "a PDF comes as content_base64"))
    data = b""
    if content is not None:
        data = content.encode("utf-8")
    elif content_base64 is not None:
        try:
            data = base64.b64decode(content_base64, validate=True)
        except (binascii.Error, ValueError):
            problems.append(FieldProblem("content_base64", "is not base64"))
    if problems:
        raise ValidationFailed(problems)
    if not data.strip():
        raise ValidationFailed.single("content", "the document is empty")
    if len(data) > max_bytes:
        raise LimitExceeded(f"the document is {len(data)} bytes; at most {max_bytes} are read")
    stem = _UNSAFE_NAME.sub("-", name or "paper").strip("-.") or "paper"
    stem = stem.removesuffix(suffix or "")
    return Source(content=data, name=f"{stem}{suffix}")


def paper_bundle(extension: InputExtension, source: Source, max_claims: int) -> dict[str, Any]:
    """The SubmitBundleInput the extension makes of the document. Blocking (PDF
    parsing, or a chat model when one is configured): run it in a thread."""
    path = "content_base64" if source.name.endswith(".pdf") else "content"
    try:
        result = extension.ingest(source)
    except ExtractionError as exc:
        raise ValidationFailed.single(path, f"cannot read the document: {exc}") from None
    if not result.claims:
        raise ValidationFailed.single(path, "no claims found in the document")
    if len(result.claims) > max_claims:
        result = keep_most_confident(result, max_claims)
    return bundle_input(to_bundle(extension.manifest, source, result))
