"""A custom input extension: one observation per line of a lab-notes file, each
supporting the first line's summary. Run it on files into the configured database:

    python examples/custom_extension.py notes.txt
"""

import sys
from pathlib import Path

from phiacta.extensions import (
    ExtractedClaim,
    ExtractedEdge,
    ExtractionResult,
    InputExtension,
    Manifest,
    Source,
    SourceMetadata,
    ingest_paths,
)


class LabNotes(InputExtension):
    manifest = Manifest(
        id="org.example.lab-notes",
        name="Lab notes",
        version="1.0.0",
        capabilities=("ingest:text",),
        claim_types=("observation", "assertion"),
        edge_types=("supports",),
    )

    def ingest(self, source: Source) -> ExtractionResult:
        title, *lines = [line.strip() for line in source.text().splitlines() if line.strip()]
        summary = ExtractedClaim(key="summary", content=title, position=0)
        notes = [
            ExtractedClaim(key=f"n{i}", content=line, claim_type="observation", position=i)
            for i, line in enumerate(lines, start=1)
        ]
        edges = [ExtractedEdge(source=n.key, edge_type="supports", target="summary") for n in notes]
        meta = SourceMetadata(source_type="manual_entry", title=title)
        return ExtractionResult(source=meta, claims=[summary, *notes], edges=edges)


if __name__ == "__main__":
    outcomes = ingest_paths(LabNotes(), [Path(arg) for arg in sys.argv[1:]])
    for o in outcomes:
        print(o.name, o.claims, o.error or ("already ingested" if o.already_ingested else "ok"))
    sys.exit(1 if any(o.failed for o in outcomes) else 0)
