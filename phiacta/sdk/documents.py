"""Every GraphQL document the SDK sends, in one place.

The variable types follow `schema.graphql`. `ID_ARGUMENT` is the type of the id
arguments of queries (`claim(id)`, `traverse(start)`, ...): when the schema moves them
to `ID!`, that constant is the one line to change.
"""

from __future__ import annotations

ID_ARGUMENT = "UUID!"

CONFIDENCE_FIELDS = """
  reviewCount endorsementCount disputeCount meanEndorsementConfidence epistemicStatus
"""

CLAIM_FIELDS = f"""
  id lineageId version isLatest claimType content formalContent status namespaceId
  namespace {{ path }} createdById supersedesId attrs createdAt
  confidence {{ {CONFIDENCE_FIELDS} }}
"""

EDGE_FIELDS = """
  id sourceId targetId edgeType strength createdById sourceProvenanceId attrs createdAt
"""

REVIEW_FIELDS = """
  id claimId reviewerId verdict confidence comment attrs createdAt updatedAt
"""

PAGE_INFO_FIELDS = "hasNextPage hasPreviousPage startCursor endCursor"

SUBMIT_BUNDLE = """
mutation SdkSubmitBundle($input: SubmitBundleInput!) {
  submitBundle(input: $input) {
    bundleId sourceId replayed
    claims { tempId id }
    artifacts { tempId id }
    edgeIds
    pendingReferences { id claimTempId claimId externalRef edgeType }
    resolvedReferences { id externalRef sourceClaimId edgeType resolvedToId edgeId }
    warnings { path code message claimId similarClaimId similarity }
  }
}
"""

CLAIM = f"""
query SdkClaim($id: {ID_ARGUMENT}) {{
  claim(id: $id) {{ {CLAIM_FIELDS} }}
}}
"""

CLAIMS = f"""
query SdkClaims($filter: ClaimFilter, $first: Int, $after: String, $orderBy: ClaimOrder!) {{
  claims(filter: $filter, first: $first, after: $after, orderBy: $orderBy) {{
    edges {{ node {{ {CLAIM_FIELDS} }} }}
    pageInfo {{ {PAGE_INFO_FIELDS} }}
    totalCount
  }}
}}
"""

SEARCH = f"""
query SdkSearch($query: String!, $mode: SearchMode!, $first: Int, $filter: ClaimFilter) {{
  search(query: $query, mode: $mode, first: $first, filter: $filter) {{
    hits {{ rank score similarity snippet claim {{ {CLAIM_FIELDS} }} }}
  }}
}}
"""

TRAVERSE = f"""
query SdkTraverse(
  $start: {ID_ARGUMENT}, $direction: TraversalDirection!, $edgeTypes: [String!],
  $maxDepth: Int!, $limit: Int!, $minStrength: Float!, $includeRetracted: Boolean!
) {{
  traverse(
    start: $start, direction: $direction, edgeTypes: $edgeTypes, maxDepth: $maxDepth,
    limit: $limit, minStrength: $minStrength, includeRetracted: $includeRetracted
  ) {{
    start {{ {CLAIM_FIELDS} }}
    nodes {{ depth reachedFrom claim {{ {CLAIM_FIELDS} }} via {{ {EDGE_FIELDS} }} }}
    edges {{ {EDGE_FIELDS} }}
    truncated
  }}
}}
"""

PATH = f"""
query SdkPath(
  $from: {ID_ARGUMENT}, $to: {ID_ARGUMENT}, $edgeTypes: [String!], $maxDepth: Int!,
  $direction: TraversalDirection!
) {{
  path(from: $from, to: $to, edgeTypes: $edgeTypes, maxDepth: $maxDepth, direction: $direction) {{
    length
    claims {{ {CLAIM_FIELDS} }}
    edges {{ {EDGE_FIELDS} }}
  }}
}}
"""

EVIDENCE_ITEM_FIELDS = f"depth claim {{ {CLAIM_FIELDS} }} via {{ {EDGE_FIELDS} }}"

EVIDENCE = f"""
query SdkEvidence($claimId: {ID_ARGUMENT}, $depth: Int!) {{
  evidence(claimId: $claimId, depth: $depth) {{
    claim {{ {CLAIM_FIELDS} }}
    supporting {{ {EVIDENCE_ITEM_FIELDS} }}
    corroborating {{ {EVIDENCE_ITEM_FIELDS} }}
    contradicting {{ {EVIDENCE_ITEM_FIELDS} }}
    summary {{ supportingCount contradictingCount corroboratingCount netSupport }}
    truncated
  }}
}}
"""

CREATE_REVIEW = f"""
mutation SdkReview($input: CreateReviewInput!) {{
  createReview(input: $input) {{ replaced review {{ {REVIEW_FIELDS} }} }}
}}
"""

REVISE_CLAIM = f"""
mutation SdkRevise($id: ID!, $input: ReviseClaimInput!) {{
  reviseClaim(id: $id, input: $input) {{ {CLAIM_FIELDS} }}
}}
"""

EVENTS = """
subscription SdkEvents($types: [String!], $after: String) {
  events(types: $types, after: $after) { id type payload createdAt }
}
"""
