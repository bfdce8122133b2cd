"""GraphiQL's default tabs: named operations that return data on the demo graph.

Two of them start from a claim id; the page fills it in (the claim the demo marks with
`attrs.demo = demo.content.DEMO_ANCHOR`) when the demo is loaded, and says how to load it
otherwise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

CLAIM_WITH_EVIDENCE = """# A claim, how sure reviewers are, and the claims for and against it.
query ClaimWithEvidence($id: ID!) {
  claim(id: $id) {
    content
    namespace { path }
    confidence { epistemicStatus reviewCount endorsementCount disputeCount }
    reviews(first: 5) { edges { node { verdict confidence comment reviewer { name } } } }
    provenance { source { title sourceType } confidence }
  }
  evidence(claimId: $id, depth: 2) {
    summary { supportingCount contradictingCount netSupport }
    supporting { depth claim { content } via { edgeType strength } }
    contradicting { claim { content } via { edgeType strength } }
  }
}
"""

HYBRID_SEARCH = """# Full-text and semantic rankings fused (reciprocal rank fusion).
query HybridSearch($text: String!) {
  search(query: $text, mode: HYBRID, first: 5) {
    hits {
      rank
      score
      similarity
      claim { content claimType namespace { path } }
    }
  }
}
"""

TRAVERSAL = """# Everything within two edges of a claim, in both directions.
query Neighbourhood($id: ID!) {
  traverse(start: $id, direction: BOTH, maxDepth: 2, limit: 25) {
    truncated
    nodes { depth claim { content } via { edgeType } }
  }
}
"""

SUBSCRIPTION = """# Live: new claims as they are committed. Run it, then in another tab or
# terminal write a claim (make demo writes nothing new; createClaim or a bundle does).
# Over WebSocket the key goes in connectionParams, as GraphiQL does from Headers.
subscription NewClaims {
  claimCreated {
    eventId
    claimId
    claimType
    namespacePath
  }
}
"""

NAMESPACES = """# The namespaces as a tree, and how many claims one of them holds.
query Namespaces {
  namespaceTree { path children { path } }
  cardiology: claims(filter: {namespace: "medicine.cardiology"}) { totalCount }
}
"""

NO_DEMO = "load the demo first: make demo (or phiacta demo), then reload this page"


@dataclass(frozen=True)
class Tab:
    query: str
    variables: dict[str, str] | None = None

    def as_json(self) -> dict[str, str]:
        tab = {"query": self.query}
        if self.variables is not None:
            tab["variables"] = json.dumps(self.variables, indent=2)
        return tab


def default_tabs(anchor_id: str | None) -> list[dict[str, str]]:
    """The tabs, with `anchor_id` (a demo claim's id) where an operation needs one."""
    claim = {"id": anchor_id or NO_DEMO}
    tabs = [
        Tab(CLAIM_WITH_EVIDENCE, claim),
        Tab(HYBRID_SEARCH, {"text": "does aspirin prevent heart attacks"}),
        Tab(TRAVERSAL, claim),
        Tab(SUBSCRIPTION),
        Tab(NAMESPACES),
    ]
    return [tab.as_json() for tab in tabs]
