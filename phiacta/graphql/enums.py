"""GraphQL enums. Values are the database's lower-case spellings."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="What kind of statement a claim is.")
class ClaimType(Enum):
    ASSERTION = "assertion"
    DEFINITION = "definition"
    THEOREM = "theorem"
    CONJECTURE = "conjecture"
    OBSERVATION = "observation"
    METHOD = "method"
    QUESTION = "question"
    EVIDENCE = "evidence"


@strawberry.enum(description="Lifecycle of a claim version; the only mutable column.")
class ClaimStatus(Enum):
    DRAFT = "draft"
    ACTIVE = "active"
    DEPRECATED = "deprecated"
    RETRACTED = "retracted"


@strawberry.enum(description="The family an edge type belongs to.")
class EdgeCategory(Enum):
    EVIDENTIAL = "evidential"
    LOGICAL = "logical"
    STRUCTURAL = "structural"
    EDITORIAL = "editorial"


@strawberry.enum
class AgentType(Enum):
    HUMAN = "human"
    AI = "ai"
    ORGANIZATION = "organization"
    PIPELINE = "pipeline"
    EXTENSION = "extension"


@strawberry.enum
class SourceType(Enum):
    PAPER = "paper"
    PREPRINT = "preprint"
    RECORDING = "recording"
    PHOTO = "photo"
    CONVERSATION = "conversation"
    CODE = "code"
    DATASET = "dataset"
    URL = "url"
    MANUAL_ENTRY = "manual_entry"


@strawberry.enum
class Verdict(Enum):
    ENDORSE = "endorse"
    DISPUTE = "dispute"
    REQUEST_REVISION = "request_revision"
    RETRACT = "retract"


@strawberry.enum
class BundleStatus(Enum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PROCESSING = "processing"


@strawberry.enum
class ArtifactType(Enum):
    FIGURE = "figure"
    TABLE = "table"
    PHOTO = "photo"
    AUDIO = "audio"
    CODE = "code"
    OTHER = "other"


@strawberry.enum
class PendingReferenceStatus(Enum):
    PENDING = "pending"
    RESOLVED = "resolved"
    EXPIRED = "expired"


@strawberry.enum(description="Truth-confidence of a claim, computed from its reviews.")
class EpistemicStatus(Enum):
    UNVERIFIED = "unverified"
    DISPUTED = "disputed"
    FORMALLY_VERIFIED = "formally_verified"
    ENDORSED = "endorsed"
    UNDER_REVIEW = "under_review"


@strawberry.enum(description="How reviews add up to a claim's confidence.")
class ConfidenceModel(Enum):
    SIMPLE = "simple"
    TRUST_WEIGHTED = "trust_weighted"
