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
from collections import Counter
from dataclasses import dataclass, field

from phiacta.extensions.base import ExtractedClaim, ExtractedEdge
from phiacta.extensions.paper_ingestion.document import SKIPPED_KINDS, Document
from phiacta.extensions.paper_ingestion.sentences import split_sentences

CITE_MARK = re.compile(r"\u27e6cite:([^\u27e7]*)\u27e7")
MIN_CHARS, MAX_CHARS, MIN_WORDS = 30, 1200, 6
MAX_CONTRADICTIONS = 20
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
# Code (an R or Python prompt, an assignment) is no claim.
_CODE = re.compile(r"(^|\s)(R>|>>>|>|\+)\s|<-|::|\w\(\)\s*[=<]")
# A sentence ends in a period, `!` (or `?`, refused above), a closing quote or bracket
# after it; one ending in ":" introduces code, a list or a display.
_FINAL = re.compile(r"[.!?]['\"\u2019\u201d)\]]*$")
# The first word of a piece of a sentence cut by a display or a page: all lower case
# letters ("denotes the ...", "and Boos (2002) ..."); "p53", "mRNA" and "iPSC" are
# names, not pieces.
_LOWER_START = re.compile(r"^[a-z]+\b(?![-\d])")
_MATH = frozenset(
    "\u2217\u2297\u00b7\u221a\u2192\u2190\u2194\u2208\u2209\u2211\u220f\u222b\u2202\u2207\u02c6\u02dc\u00af\u2032\u2033\u221e\u2248\u2261\u2282\u2286\u222a\u2229\u2200\u2203\u03bb\u03a3\u03a0"
    "{}|^_\\"
)
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
    if sum(map(str.isalpha, sentence)) < 0.5 * len(sentence):
        return None  # a formula, a table row, a reference
    if not _is_prose(sentence, words):
        return None
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
    if kind == "other" and _METHOD.search(sentence):
        return "method", 0.45  # a section of unknown purpose describing what was done
    return None


def _is_prose(sentence: str, words: list[str]) -> bool:
    """Whether a sentence reads as prose: not code, not a piece of a sentence broken by
    a display, not a formula or a table row flattened into words (more than 15 % of
    its words hold mathematical symbols or are single letters other than "a" and
    "I")."""
    if _CODE.search(sentence) or not _FINAL.search(sentence) or _LOWER_START.match(sentence):
        return False
    odd = 0
    for word in words:
        bare = word.strip("()[],.;:\"'\u201c\u201d\u2019")
        if any(ch in _MATH for ch in word) or (
            len(bare) == 1 and bare.isalpha() and bare not in "aAI"
        ):
            odd += 1
    return odd <= 0.15 * len(words)


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


class _Terms:
    """Each candidate's content words, for the Jaccard overlap of two candidates. A set
    is kept as the count of its words and a bit mask of those that more than one
    candidate uses (no other word can be shared): an overlap is an `&` and a bit count,
    not two set operations."""

    def __init__(self, candidates: list[Candidate]) -> None:
        sets = [_terms(c.content) for c in candidates]
        used = Counter(w for words in sets for w in words)
        bit = {w: i for i, w in enumerate(w for w, n in used.items() if n > 1)}
        self._size = {c.position: len(words) for c, words in zip(candidates, sets, strict=True)}
        self._mask = {
            c.position: sum(1 << bit[w] for w in words if w in bit)
            for c, words in zip(candidates, sets, strict=True)
        }

    def overlap(self, a: Candidate, b: Candidate) -> float:
        size_a, size_b = self._size[a.position], self._size[b.position]
        if not size_a or not size_b:
            return 0.0
        shared = (self._mask[a.position] & self._mask[b.position]).bit_count()
        return shared / (size_a + size_b - shared)


def internal_edges(candidates: list[Candidate]) -> list[ExtractedEdge]:
    """Results support the conclusions they share terms with; results depend on the
    methods they share terms with (the first method when none does); two claims about
    the same terms stating opposite effects contradict."""
    terms = _Terms(candidates)
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
    claim: Candidate, among: list[Candidate], terms: _Terms, threshold: float
) -> Candidate | None:
    """The candidate sharing most terms with `claim` (the first of equals), if it
    shares at least `threshold`."""
    best: Candidate | None = None
    best_overlap = threshold
    for other in among:
        if other.position == claim.position:
            continue
        overlap = terms.overlap(claim, other)
        if overlap > best_overlap or (best is None and overlap == best_overlap):
            best, best_overlap = other, overlap
    return best


def _direction(text: str) -> int:
    up, down = bool(_UP.search(text)), bool(_DOWN.search(text))
    if up == down:
        return 0
    sign = 1 if up else -1
    return -sign if _NEGATED.search(text) else sign


def _contradictions(candidates: list[Candidate], terms: _Terms) -> list[ExtractedEdge]:
    """At most MAX_CONTRADICTIONS pairs, the first in reading order."""
    directed = [
        (c, d)
        for c in candidates
        if c.claim_type in ("observation", "assertion") and (d := _direction(c.content)) != 0
    ]
    edges: list[ExtractedEdge] = []
    for i, (a, da) in enumerate(directed):
        for b, db in directed[i + 1 :]:
            if da != db and terms.overlap(a, b) >= 0.35:
                edges.append(
                    ExtractedEdge(f"s{a.position}", "contradicts", f"s{b.position}", strength=0.5)
                )
                if len(edges) == MAX_CONTRADICTIONS:
                    return edges
    return edges
