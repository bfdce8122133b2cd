"""From sections to claims: sentences split, claim-like ones chosen and typed, and the
edges between them.

The choice is a scoring of cues, tuned to be conservative: a sentence becomes a claim
when it states something (a finding, a method, a definition, a hypothesis) rather than
setting the scene, thanking someone or pointing at a figure. The text of a claim is the
sentence as written, whitespace normalized: numbers, units and signs are never
rewritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import pysbd

from phiacta.extensions.base import ExtractedClaim, ExtractedEdge
from phiacta.extensions.paper_ingestion.document import SKIPPED_KINDS, Document

CITE_MARK = re.compile(r"\u27e6cite:([^\u27e7]*)\u27e7")
MIN_CHARS, MAX_CHARS, MIN_WORDS = 30, 1200, 6
EXTRACTION_METHOD = "paper-ingestion/heuristic"

_FINDING = re.compile(
    r"\b(we (show|found|find|observe[d]?|demonstrate[d]?|report|confirm(ed)?)|"
    r"(results?|data|analysis|experiments?) (show|shows|showed|indicate[sd]?|suggest(s|ed)?|"
    r"reveal(s|ed)?|demonstrate[sd]?|confirm(s|ed)?)|"
    r"increas(e|es|ed)|decreas(e|es|ed)|reduc(e|es|ed|tion)|improv(e|es|ed|ement)|"
    r"outperform(s|ed)?|higher|lower|greater|fewer|more than|less than|"
    r"significant(ly)?|associated with|correlat(e|es|ed|ion)|predict(s|ed)?|"
    r"achiev(e|es|ed)|yield(s|ed)?|resulted in|led to|causes?|prevent(s|ed)?|"
    r"faster|slower|accura(te|cy)|p\s*[<=>]|fold)\b",
    re.IGNORECASE,
)
_METHOD = re.compile(
    r"\b(we (used|use|measured|collected|trained|applied|performed|implemented|developed|"
    r"designed|propose|present|introduce|built|computed|estimated|recruited|conducted|ran)|"
    r"(was|were) (measured|collected|recorded|computed|estimated|performed|obtained|"
    r"trained|fitted|fit|analy[sz]ed|randomi[sz]ed|assigned|sampled|conducted)|"
    r"using|is implemented|is written in|provides)\b",
    re.IGNORECASE,
)
_DEFINITION = re.compile(
    r"\b(is defined as|are defined as|we define|we call|refers to|is called|denotes?)\b",
    re.IGNORECASE,
)
_HYPOTHESIS = re.compile(
    r"\b(we hypothesi[sz]e|we conjecture|we speculate|hypothesi[sz]ed that|"
    r"it is possible that|may|might|could potentially|we expect)\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d")
_BOILERPLATE = re.compile(
    r"(©|copyright|creative commons|licen[cs]ed under|all rights reserved|"
    r"\bfund(ed|ing)\b|\bgrant\b|acknowledg|thank|correspond(ence|ing author)|e-?mail|"
    r"@[a-z0-9-]+\.[a-z]|orcid|\buniversity\b.*\b(department|institute)\b|"
    r"preprint|peer review|this article is|published by|received:|accepted:)",
    re.IGNORECASE,
)
_CAPTION = re.compile(r"^(fig(ure)?\.?|table|supplementary|panel)\s*[a-z]?\d*[a-z]?[.:]", re.I)
_WEAK_START = re.compile(
    r"^(in this (paper|section|work|article)|here,? we|this paper|"
    r"the rest of|section \d|see |as shown in (fig|table))",
    re.I,
)

_UP = re.compile(
    r"\b(increas\w*|higher|more|improv\w*|enhanc\w*|rais\w*|greater|"
    r"positive(ly)?|promot\w*|accelerat\w*)\b",
    re.I,
)
_DOWN = re.compile(
    r"\b(decreas\w*|lower|less|reduc\w*|worsen\w*|impair\w*|fewer|"
    r"negative(ly)?|inhibit\w*|slow\w*)\b",
    re.I,
)
_NEGATED = re.compile(r"\b(no|not|never|did not|does not|failed to)\b", re.I)
_WORD = re.compile(r"[a-z][a-z0-9-]{2,}")
_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "that",
        "this",
        "from",
        "were",
        "was",
        "are",
        "our",
        "their",
        "these",
        "those",
        "which",
        "into",
        "than",
        "also",
        "have",
        "has",
        "had",
        "been",
        "not",
        "but",
        "can",
        "may",
        "using",
        "used",
        "between",
        "after",
        "before",
        "during",
        "over",
        "under",
        "both",
        "each",
        "such",
        "its",
        "all",
        "more",
        "less",
        "higher",
        "lower",
        "increased",
        "decreased",
        "increase",
        "decrease",
        "reduced",
        "improved",
        "significantly",
        "significant",
        "we",
    ]
)


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False)


def split_sentences(paragraph: str) -> list[str]:
    """The paragraph's sentences (pysbd: abbreviations such as "et al.", "Fig. 3",
    "e.g." and decimals do not end a sentence), each a slice of the paragraph's text."""
    text = " ".join(paragraph.split())
    if not text:
        return []
    segmenter = _segmenter()
    # pysbd's own non-destructive mode finds each sentence again with a regular
    # expression compiled per sentence (two thirds of its time on a long paper); the
    # sentences are found here with str.find instead, from where the last one ended.
    found = segmenter.processor(text).process()
    starts: list[int] = []
    cursor = 0
    for sentence in found:
        start = text.find(sentence.strip(), cursor)
        if start < 0:
            return [s.strip() for s in segmenter.segment(text) if s.strip()]
        starts.append(start)
        cursor = start + len(sentence.strip())
    bounds = [*starts[1:], len(text)]
    return [text[a:b].strip() for a, b in zip(starts, bounds, strict=True) if text[a:b].strip()]


def _with_trailing_citations(sentences: list[str]) -> list[str]:
    """Sentences, a citation standing after a sentence's period joined to it."""
    joined: list[str] = []
    for sentence in sentences:
        if joined and not CITE_MARK.sub("", sentence).strip(" .;,"):
            joined[-1] = f"{joined[-1]} {sentence}"
        else:
            joined.append(sentence)
    return joined


@dataclass
class Candidate:
    content: str
    section: str
    kind: str
    position: int
    claim_type: str
    confidence: float
    cites: list[str] = field(default_factory=list)


def choose_claims(document: Document) -> list[Candidate]:
    """The claim-like sentences of the document, in reading order."""
    chosen: list[Candidate] = []
    position = 0
    for section in document.sections:
        if section.kind in SKIPPED_KINDS:
            continue
        for paragraph in section.paragraphs:
            for sentence in _with_trailing_citations(split_sentences(paragraph)):
                position += 1
                cites = [
                    k.strip()
                    for m in CITE_MARK.finditer(sentence)
                    for k in re.split(r"[,;]", m.group(1))
                    if k.strip()
                ]
                content = " ".join(CITE_MARK.sub("", sentence).split())
                content = re.sub(r"\s+([.,;:)])", r"\1", content).replace("( )", "").strip()
                typed = classify(content, section.kind)
                if typed is None:
                    continue
                claim_type, confidence = typed
                chosen.append(
                    Candidate(
                        content,
                        section.heading,
                        section.kind,
                        position,
                        claim_type,
                        confidence,
                        cites,
                    )
                )
    return chosen


def classify(sentence: str, kind: str) -> tuple[str, float] | None:
    """The claim type and extractor confidence of a sentence in a section of `kind`,
    or None when it is no claim."""
    words = sentence.split()
    if not MIN_CHARS <= len(sentence) <= MAX_CHARS or len(words) < MIN_WORDS:
        return None
    if sentence.endswith("?") or _BOILERPLATE.search(sentence) or _CAPTION.match(sentence):
        return None
    if sum(1 for ch in sentence if ch.isalpha()) < 0.5 * len(sentence):
        return None  # a formula, a table row, a reference
    if _DEFINITION.search(sentence):
        return "definition", 0.75
    finding = bool(_FINDING.search(sentence))
    numbers = bool(_NUMBER.search(sentence))
    if _HYPOTHESIS.search(sentence) and kind in ("introduction", "discussion", "conclusion"):
        return ("conjecture", 0.6) if not numbers else ("assertion", 0.55)
    if kind == "methods":
        if _METHOD.search(sentence) or numbers:
            return "method", 0.7
        return None
    if _WEAK_START.match(sentence) and not finding:
        return None
    if kind in ("results", "abstract") and finding:
        return ("observation", 0.85) if numbers else ("assertion", 0.75)
    if kind in ("discussion", "conclusion") and (finding or numbers):
        return "assertion", 0.7
    if kind in ("results",) and numbers:
        return "observation", 0.65
    if kind in ("introduction", "other") and finding and numbers:
        return "assertion", 0.55
    if kind == "abstract" and _METHOD.search(sentence):
        return "method", 0.6
    if kind == "other" and finding:
        return "assertion", 0.5
    return None


def to_claims(candidates: list[Candidate], method: str = EXTRACTION_METHOD) -> list[ExtractedClaim]:
    return [
        ExtractedClaim(
            key=f"s{c.position}",
            content=c.content,
            claim_type=c.claim_type,
            confidence=c.confidence,
            section=c.kind,
            position=c.position,
            extraction_method=method,
            attrs={"heading": c.section},
        )
        for c in candidates
    ]


def _terms(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def internal_edges(candidates: list[Candidate]) -> list[ExtractedEdge]:
    """Results support the conclusions they share terms with; results depend on the
    methods they share terms with (the first method when none does); two claims about
    the same terms stating opposite effects contradict."""
    terms = {c.position: _terms(c.content) for c in candidates}
    results = [
        c
        for c in candidates
        if c.kind == "results" or (c.kind == "abstract" and c.claim_type == "observation")
    ]
    conclusions = [
        c
        for c in candidates
        if c.kind in ("conclusion", "discussion") and c.claim_type == "assertion"
    ]
    methods = [c for c in candidates if c.claim_type == "method"]
    edges: list[ExtractedEdge] = []
    for result in results:
        best = _best(result, conclusions, terms, 0.12)
        if best is not None:
            edges.append(
                ExtractedEdge(f"s{result.position}", "supports", f"s{best.position}", strength=0.7)
            )
        method = _best(result, methods, terms, 0.08) or (methods[0] if methods else None)
        if method is not None:
            edges.append(
                ExtractedEdge(
                    f"s{result.position}", "depends_on", f"s{method.position}", strength=0.6
                )
            )
    edges += _contradictions(candidates, terms)
    return edges


def _best(
    claim: Candidate, among: list[Candidate], terms: dict[int, set[str]], threshold: float
) -> Candidate | None:
    scored = [
        (_overlap(terms[claim.position], terms[o.position]), o)
        for o in among
        if o.position != claim.position
    ]
    scored = [s for s in scored if s[0] >= threshold]
    return max(scored, key=lambda s: s[0])[1] if scored else None


def _direction(text: str) -> int:
    up, down = bool(_UP.search(text)), bool(_DOWN.search(text))
    if up == down:
        return 0
    sign = 1 if up else -1
    return -sign if _NEGATED.search(text) else sign


def _contradictions(candidates: list[Candidate], terms: dict[int, set[str]]) -> list[ExtractedEdge]:
    directed = [
        (c, d)
        for c in candidates
        if c.claim_type in ("observation", "assertion") and (d := _direction(c.content)) != 0
    ]
    edges = []
    for i, (a, da) in enumerate(directed):
        for b, db in directed[i + 1 :]:
            if da != db and _overlap(terms[a.position], terms[b.position]) >= 0.35:
                edges.append(
                    ExtractedEdge(f"s{a.position}", "contradicts", f"s{b.position}", strength=0.5)
                )
    return edges[:20]
