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
