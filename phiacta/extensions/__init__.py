"""Extensions: how knowledge comes in (input extensions) and goes out (output ones).

    class MyExtension(InputExtension):
        manifest = Manifest(id="org.example.mine", name="Mine", version="1.0.0", ...)
        def ingest(self, source: Source) -> ExtractionResult: ...

    ingest_paths(MyExtension(), [Path("data/")])   # into the configured database

Built in: `manual-entry` (`phiacta.extensions.manual_entry`) and `paper-ingestion`
(`phiacta.extensions.paper_ingestion`). `phiacta ingest PATH...` runs them.
"""

from phiacta.extensions.base import (
    Author,
    ExtractedArtifact,
    ExtractedClaim,
    ExtractedEdge,
    ExtractionError,
    ExtractionResult,
    InputExtension,
    Manifest,
    OutputExtension,
    Source,
    SourceMetadata,
)
from phiacta.extensions.commands import ingest_paths
from phiacta.extensions.runner import Outcome, idempotency_key, run_extension, to_bundle

__all__ = [
    "Author",
    "ExtractedArtifact",
    "ExtractedClaim",
    "ExtractedEdge",
    "ExtractionError",
    "ExtractionResult",
    "InputExtension",
    "Manifest",
    "Outcome",
    "OutputExtension",
    "Source",
    "SourceMetadata",
    "idempotency_key",
    "ingest_paths",
    "run_extension",
    "to_bundle",
]
