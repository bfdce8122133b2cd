"""Claims chosen by a chat model: one request per section, in JSON-schema mode.

Used when `PAPER_EXTRACTOR=openai` (or OPENAI_API_KEY is set and PAPER_EXTRACTOR is
not). The model returns the section's claims with their types and its confidence; the
output types are those of the offline extractor, so edges, references and positions
are made the same way. A claim whose numbers do not all appear in the section is
dropped (a model may round or invent; the graph keeps numbers as printed).
"""

from __future__ import annotations

import json
import re
from typing import Any

from openai import OpenAI, OpenAIError

from phiacta.config import Settings
from phiacta.extensions.paper_ingestion.claims import (
    CITE_MARK,
    Candidate,
    choose_claims,
)
from phiacta.extensions.paper_ingestion.document import SKIPPED_KINDS, Document
from phiacta.extensions.paper_ingestion.sentences import split_sentences

TYPES = ["assertion", "observation", "method", "definition", "conjecture"]
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["claims"],
    "properties": {
        "claims": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["content", "claim_type", "confidence"],
                "properties": {
                    "content": {"type": "string"},
                    "claim_type": {"type": "string", "enum": TYPES},
                    "confidence": {"type": "number"},
                },
            },
        }
    },
}
PROMPT = (
    "You extract atomic scientific claims from one section of a research paper. Return "
    "each finding, method, definition or hypothesis the section states as one "
    "self-contained sentence, quoting numbers exactly as printed. Leave out background "
    "the authors cite, acknowledgements, funding and figure references. claim_type: "
    "observation for a measured finding, assertion for a general finding, method, "
    "definition, conjecture for a hypothesis. confidence: how sure you are it is a claim "
    "of this paper, 0 to 1."
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


class OpenAIExtractor:
    def __init__(self, settings: Settings) -> None:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        self._client = OpenAI(api_key=key, base_url=settings.openai_base_url, max_retries=2)
        self._model = settings.paper_extractor_model

    def choose_claims(self, document: Document) -> tuple[list[Candidate], list[str]]:
        """The model's claims of every section, in reading order, and warnings."""
        cited = {c.content: c.cites for c in choose_claims(document)}
        chosen: list[Candidate] = []
        warnings: list[str] = []
        for section in document.sections:
            if section.kind in SKIPPED_KINDS or not section.paragraphs:
                continue
            text = CITE_MARK.sub("", "\n\n".join(section.paragraphs))
            try:
                claims = self._section_claims(section.heading, text)
            except (OpenAIError, ValueError, KeyError) as exc:
                warnings.append(f"section {section.heading!r}: the model failed: {exc}")
                continue
            printed = set(_NUMBER.findall(text))
            for claim in claims:
                content = " ".join(str(claim["content"]).split())
                if not set(_NUMBER.findall(content)) <= printed:
                    warnings.append(
                        f"dropped a claim whose numbers are not in the text: {content!r}"
                    )
                    continue
                kind = str(claim["claim_type"])
                chosen.append(
                    Candidate(
                        content=content,
                        section=section.heading,
                        kind=section.kind,
                        position=len(chosen) + 1,
                        claim_type=kind if kind in TYPES else "assertion",
                        confidence=min(max(float(claim["confidence"]), 0.0), 1.0),
                        cites=cited.get(content, []),
                    )
                )
        return chosen, warnings

    def _section_claims(self, heading: str, text: str) -> list[dict[str, Any]]:
        response = self._client.chat.completions.create(
            model=self._model,
            messages=[
                {"role": "system", "content": PROMPT},
                {"role": "user", "content": f"Section: {heading}\n\n{text}"},
            ],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "claims", "schema": SCHEMA, "strict": True},
            },
        )
        body = response.choices[0].message.content or "{}"
        claims = json.loads(body)["claims"]
        if not isinstance(claims, list):
            raise ValueError("claims is not a list")
        return [c for c in claims if isinstance(c, dict) and split_sentences(str(c["content"]))]
