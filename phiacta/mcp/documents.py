"""The GraphQL documents the MCP tools and resources run, one per tool.

They select a compact shape: what an agent needs to reason about a claim and pick its
next call (ids, content, type, status, confidence, the edges' types and ends), not
every field the schema has.
"""

from __future__ import annotations

CLAIM_FIELDS = """
fragment ClaimFields on Claim {
  id lineageId version isLatest claimType content formalContent status
  namespace { path }
  createdById createdAt
  confidence { reviewCount endorsementCount disputeCount meanEndorsementConfidence epistemicStatus }
}
"""

EDGE_FIELDS = """
fragment EdgeFields on Edge { id sourceId targetId edgeType label strength createdById }
"""

SEARCH_CLAIMS = (
    """
query McpSearchClaims($query: String!, $mode: SearchMode!, $first: Int, $filter: ClaimFilter) {
  search(query: $query, mode: $mode, first: $first, filter: $filter) {
    mode
    hits { rank score snippet claim { ...ClaimFields } }
  }
}
"""
    + CLAIM_FIELDS
)

GET_CLAIM = (
    """
query McpGetClaim($id: ID!, $first: Int) {
  claim(id: $id) {
    ...ClaimFields
    attrs
    supersedesId
    provenance { sourceId confidence extractionMethod locationInSource
                 source { id sourceType title externalRef } }
    outgoing(first: $first) { totalCount edges { node { ...EdgeFields
      target { id content status } } } }
    incoming(first: $first) { totalCount edges { node { ...EdgeFields
      source { id content status } } } }
  }
}
"""
    + CLAIM_FIELDS
    + EDGE_FIELDS
)

TRAVERSE = (
    """
query McpTraverse($start: ID!, $direction: TraversalDirection!, $edgeTypes: [String!],
                  $maxDepth: Int!, $limit: Int!) {
  traverse(start: $start, direction: $direction, edgeTypes: $edgeTypes,
           maxDepth: $maxDepth, limit: $limit) {
    truncated
    nodes { depth reachedFrom via { ...EdgeFields } claim { id content claimType status } }
  }
}
"""
    + EDGE_FIELDS
)

FIND_PATH = (
    """
query McpFindPath($from: ID!, $to: ID!, $edgeTypes: [String!], $maxDepth: Int!) {
  path(from: $from, to: $to, edgeTypes: $edgeTypes, maxDepth: $maxDepth) {
    length
    claims { id content status }
    edges { ...EdgeFields }
  }
}
"""
    + EDGE_FIELDS
)

EVIDENCE_FOR = """
query McpEvidenceFor($claimId: ID!, $depth: Int!) {
  evidence(claimId: $claimId, depth: $depth) {
    claim { id content }
    summary { supportingCount contradictingCount corroboratingCount netSupport }
    supporting { depth via { id edgeType strength } claim { id content status } }
    corroborating { depth via { id edgeType strength } claim { id content status } }
    contradicting { depth via { id edgeType strength } claim { id content status } }
    truncated
  }
}
"""

LIST_EDGE_TYPES = """
query McpEdgeTypes {
  edgeTypes { name inverseName category isTransitive isSymmetric isAntiReflexive description }
}
"""

SUBMIT_CLAIMS = """
mutation McpSubmitClaims($input: SubmitBundleInput!) {
  submitBundle(input: $input) {
    bundleId sourceId replayed
    claims { tempId id }
    edgeIds
    pendingReferences { claimTempId externalRef edgeType }
    warnings { path code message claimId similarClaimId similarity }
  }
}
"""

REVIEW_CLAIM = """
mutation McpReviewClaim($input: CreateReviewInput!) {
  createReview(input: $input) {
    replaced
    review { id claimId reviewerId verdict confidence comment
             claim { confidence { reviewCount endorsementCount disputeCount epistemicStatus } } }
  }
}
"""

REVISE_CLAIM = (
    """
mutation McpReviseClaim($id: ID!, $input: ReviseClaimInput!) {
  reviseClaim(id: $id, input: $input) { ...ClaimFields supersedesId }
}
"""
    + CLAIM_FIELDS
)

LINK_CLAIMS = (
    """
mutation McpLinkClaims($input: CreateEdgeInput!) {
  createEdge(input: $input) { ...EdgeFields }
}
"""
    + EDGE_FIELDS
)

SOURCE = """
query McpSource($id: ID!) {
  source(id: $id) { id sourceType title externalRef contentHash attrs createdAt submittedById }
}
"""

VIEWER_SCOPES = """
query McpViewer { viewer { scopes } }
"""
