"""Identifiers of works and people, each with one spelling.

`canonical_identifier` turns any accepted spelling into the one stored:

| kind    | accepted                                                    | stored                 |
|---------|-------------------------------------------------------------|------------------------|
| DOI     | `10.1000/ABC`, `doi:10.1000/abc`, `https://doi.org/...`,    | `10.1000/abc`          |
|         | `http://dx.doi.org/...` (any case; DOIs are case-insensitive)|                        |
| arXiv   | `arXiv:2101.00001v2`, `2101.00001`, `arxiv.org/abs/...`,    | `arXiv:2101.00001`     |
|         | old style `hep-th/9901001`, `math.GT/0309136v1`             | `arXiv:hep-th/9901001` |
| ORCID   | `0000-0002-1825-0097`, `https://orcid.org/...`, no hyphens  | `0000-0002-1825-0097`  |
| PubMed  | `PMID: 123`, `pmid:123`, `pubmed.ncbi.nlm.nih.gov/123/`     | `pmid:123`             |
| PMC     | `PMC123`, `pmcid:PMC123`                                    | `pmcid:PMC123`         |
| URL     | `HTTPS://Example.org:443/a#frag`                            | `https://example.org/a`|

A version suffix of an arXiv id names the same work, so it is dropped. Anything else is
kept as given, without surrounding whitespace. Functions here are pure and thread-safe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

DOI_BODY = r"10\.\d{4,9}/\S+"
_DOI = re.compile(
    r"^(?:doi:\s*|(?:https?://)?(?:dx\.|www\.)?doi\.org/)?(" + DOI_BODY + r")$", re.IGNORECASE
)
_ARXIV_NEW = r"\d{4}\.\d{4,5}"
_ARXIV_OLD = r"[a-z][a-z-]*(?:\.[A-Z]{2})?/\d{7}"
_ARXIV = re.compile(
    r"^(?:arxiv:\s*|(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/)?"
    rf"({_ARXIV_NEW}|{_ARXIV_OLD})(?:v\d+)?(?:\.pdf)?$",
    re.IGNORECASE,
)
_ORCID = re.compile(
    r"^(?:orcid:\s*|(?:https?://)?(?:www\.)?orcid\.org/)?"
    r"(\d{4})-?(\d{4})-?(\d{4})-?(\d{3}[\dX])/?$",
    re.IGNORECASE,
)
_PMID = re.compile(
    r"^(?:pmid:?\s*|(?:https?://)?(?:pubmed\.ncbi\.nlm\.nih\.gov/|(?:www\.)?ncbi\.nlm\.nih\.gov/pubmed/))"
    r"(\d{1,9})/?$",
    re.IGNORECASE,
)
_PMCID = re.compile(r"^(?:pmcid:\s*)?(PMC\d{1,9})$", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Where a DOI ends inside running text: a DOI may hold almost anything, but text puts
# punctuation, brackets and quotes after it.
_DOI_IN_TEXT = re.compile(r"10\.\d{4,9}/[^\s\"'<>\]\[{}]+")
_ARXIV_IN_TEXT = re.compile(rf"arXiv:\s*({_ARXIV_NEW}|{_ARXIV_OLD})(?:v\d+)?", re.IGNORECASE)


@dataclass(frozen=True)
class Identifier:
    """A canonical identifier and what kind it is (doi, arxiv, orcid, pmid, pmcid, url,
    other)."""

    kind: str
    value: str


def parse_identifier(text: str) -> Identifier:
    """The identifier `text` spells, in its canonical form. Never fails: text that is
    no known kind is `other`, kept as given without surrounding whitespace. An ORCID iD
    whose check digit is wrong is `other` too: it names nobody."""
    text = text.strip()
    if m := _DOI.match(text):
        body = unquote(m.group(1)) if "doi.org/" in text.lower() else m.group(1)
        return Identifier("doi", body.lower())
    if m := _ARXIV.match(text):
        return Identifier("arxiv", "arXiv:" + _arxiv_case(m.group(1)))
    if m := _ORCID.match(text):
        orcid = "-".join(m.groups()).upper()
        return Identifier("orcid", orcid) if orcid_checksum_ok(orcid) else Identifier("other", text)
    if m := _PMID.match(text):
        return Identifier("pmid", f"pmid:{int(m.group(1))}")
    if m := _PMCID.match(text):
        return Identifier("pmcid", "pmcid:" + m.group(1).upper())
    if url := _canonical_url(text):
        return Identifier("url", url)
    return Identifier("other", text)


def canonical_identifier(text: str) -> str:
    """The one stored spelling of `text` (see the module docstring)."""
    return parse_identifier(text).value


def parse_orcid(text: str) -> str | None:
    """The canonical ORCID iD `text` spells, or None when it is none or its check digit
    is wrong."""
    found = parse_identifier(text)
    return found.value if found.kind == "orcid" else None


def orcid_checksum_ok(orcid: str) -> bool:
    """ISO 7064 MOD 11-2 over the first 15 digits, as ORCID defines its last character."""
    digits = orcid.replace("-", "")
    total = 0
    for ch in digits[:-1]:
        total = (total + int(ch)) * 2
    check = (12 - total % 11) % 11
    return digits[-1].upper() == ("X" if check == 10 else str(check))


def dois_in_text(text: str) -> list[str]:
    """Every DOI written in `text`, canonical, in order of appearance, each once."""
    found: dict[str, None] = {}
    for m in _DOI_IN_TEXT.finditer(text):
        found[m.group(0).rstrip(".,;:)").lower()] = None
    return list(found)


def arxiv_ids_in_text(text: str) -> list[str]:
    """Every `arXiv:` id written in `text`, canonical, in order, each once."""
    found = {"arXiv:" + _arxiv_case(m.group(1)): None for m in _ARXIV_IN_TEXT.finditer(text)}
    return list(found)


def _arxiv_case(body: str) -> str:
    # Old-style archive names are lower case, their subject class upper case.
    if "/" not in body:
        return body
    archive, number = body.split("/", 1)
    name, _, subject = archive.partition(".")
    return f"{name.lower()}.{subject.upper()}/{number}" if subject else f"{name.lower()}/{number}"


def _canonical_url(text: str) -> str | None:
    if not re.match(r"^https?://", text, re.IGNORECASE) or any(c.isspace() for c in text):
        return None
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if not host:
        return None
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
