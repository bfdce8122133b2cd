"""Phiacta as an MCP server: tools, resources and prompts for LLM agents.

Every tool runs one GraphQL document (`phiacta.mcp.documents`) through a `Gateway`, so
agents get exactly GraphQL's rules: scopes, limits, validation, audit lines, events.
A tool answers with structured content (the operation's data, compact) and a readable
text; a refused or failed operation is an MCP tool error whose structured content is
`{"error": {"code": ..., "message": ..., "details": ...}}` with our error codes.

`build_server(gateway_of, settings)` takes the function that gives a message its
gateway, from the transport's request: the HTTP transport makes one per request from the caller's
API key; stdio one per call on the session's key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Annotated, Any, Literal

import anyio
import orjson
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.prompts.base import UserMessage
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from phiacta.config import Settings
from phiacta.errors import PhiactaError
from phiacta.extensions.base import InputExtension
from phiacta.graphql.schema import schema_sdl
from phiacta.mcp import documents, papers
from phiacta.mcp.gateway import Gateway, GatewayError

# The transport's request (a Starlette Request over HTTP, None on stdio) -> its gateway.
GatewayOf = Callable[[object], Awaitable[Gateway]]

# The gateway of the message being handled, bound by `bind_gateway` around each one.
_current_gateway: ContextVar[Gateway] = ContextVar("phiacta_mcp_gateway")

INSTRUCTIONS = """\
Phiacta is a knowledge graph of scientific claims: atomic, versioned statements linked
by typed edges (supports, contradicts, depends_on, ...), traced to sources through
provenance and judged by reviews. Find claims with search_claims, read one with
get_claim (its edges and confidence), explore with traverse, find_path and
evidence_for. Write with submit_claims (a bundle of claims and edges from one source,
atomic and idempotent), ingest_paper (a whole paper: its claims, edges and references
read for you), review_claim, revise_claim and link_claims; writes need an API key with
the matching scope. Errors carry a code: VALIDATION_FAILED (fix the argument
named in details), NOT_FOUND, FORBIDDEN (the key lacks a scope), RATE_LIMITED (wait
retryAfter seconds), LIMIT_EXCEEDED."""

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
IDEMPOTENT_WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)

ClaimId = Annotated[str, Field(description="A claim version's id (UUID).")]
ClaimType = Literal[
    "ASSERTION",
    "DEFINITION",
    "THEOREM",
    "CONJECTURE",
    "OBSERVATION",
    "METHOD",
    "QUESTION",
    "EVIDENCE",
]
SourceType = Literal[
    "PAPER",
    "PREPRINT",
    "RECORDING",
    "PHOTO",
    "CONVERSATION",
    "CODE",
    "DATASET",
    "URL",
    "MANUAL_ENTRY",
]


class SourceInput(BaseModel):
    """The one source every claim of a submission comes from."""

    source_type: SourceType = Field(description="What the source is.")
    title: str | None = None
    external_ref: str | None = Field(
        None, description="DOI, URL or arXiv id; a known one is reused, never duplicated."
    )


class ClaimInput(BaseModel):
    """A new claim: one atomic statement."""

    temp_id: str = Field(description="Your name for the claim, used by edges in this call.")
    content: str = Field(description="The statement, 1..10,000 characters.")
    claim_type: ClaimType = "ASSERTION"
    namespace: str | None = Field(None, description="Dotted path, e.g. biology.immunology.")
    confidence: float | None = Field(
        None, ge=0, le=1, description="How sure the extraction is, 0..1."
    )
    location_in_source: str | None = Field(None, description="Page, section or figure.")


class ClaimRef(BaseModel):
    """One end of an edge: exactly one of the three."""

    temp_id: str | None = Field(None, description="A claim of this submission.")
    claim_id: str | None = Field(None, description="An existing claim's id.")
    external_ref: str | None = Field(
        None, description="Targets only: a DOI or URL, resolved when that source arrives."
    )


class EdgeInput(BaseModel):
    """A typed relation from one claim to another (see list_edge_types)."""

    source: ClaimRef
    target: ClaimRef
    edge_type: str = Field(description="e.g. supports, contradicts, depends_on.")
    strength: float = Field(1.0, ge=0, le=1)


def build_server(gateway_of: GatewayOf, settings: Settings) -> MCPServer:
    """The MCP server; every tool and resource reaches Phiacta through `gateway_of`."""
    server = MCPServer("phiacta", instructions=INSTRUCTIONS, version="1", log_level="WARNING")
    readers: list[InputExtension] = []

    async def bind_gateway(
        ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        token = _current_gateway.set(await gateway_of(ctx.request))
        try:
            return await call_next(ctx)
        finally:
            _current_gateway.reset(token)

    server.middleware.append(bind_gateway)

    async def run(document: str, variables: Mapping[str, Any], render: Render) -> CallToolResult:
        try:
            data = await _current_gateway.get().execute(document, variables)
        except GatewayError as error:
            return tool_error(error)
        return CallToolResult(
            content=[TextContent(type="text", text=render(data))], structured_content=data
        )

    @server.tool(annotations=READ_ONLY)
    async def search_claims(
        query: Annotated[str, Field(description="Words or a question, 1..1000 characters.")],
        mode: Annotated[
            Literal["HYBRID", "SEMANTIC", "FULLTEXT"],
            Field(description="SEMANTIC by meaning, FULLTEXT by words, HYBRID both."),
        ] = "HYBRID",
        first: Annotated[int, Field(ge=1, le=200, description="How many hits.")] = 10,
        namespace: Annotated[
            str | None, Field(description="`biology` only, or `biology.*` with its subtree.")
        ] = None,
        claim_types: list[ClaimType] | None = None,
        include_retracted: bool = False,
    ) -> CallToolResult:
        """Find claims by meaning or words, best first, with rank and score. Latest
        versions only. Use the hits' ids with get_claim, traverse or evidence_for."""
        claim_filter: dict[str, Any] = {"includeRetracted": include_retracted}
        if namespace:
            claim_filter["namespace"] = namespace
        if claim_types:
            claim_filter["claimTypes"] = claim_types
        variables = {"query": query, "mode": mode, "first": first, "filter": claim_filter}
        return await run(documents.SEARCH_CLAIMS, variables, render_search)

    @server.tool(annotations=READ_ONLY)
    async def get_claim(
        id: ClaimId,
        edges: Annotated[int, Field(ge=0, le=100, description="Edges to list each way.")] = 20,
    ) -> CallToolResult:
        """One claim version with its confidence (from reviews), provenance and its
        neighbourhood: outgoing and incoming edges with the claims at their other end."""
        return await run(documents.GET_CLAIM, {"id": id, "first": edges}, render_claim)

    @server.tool(annotations=READ_ONLY)
    async def traverse(
        start: ClaimId,
        direction: Literal["OUTGOING", "INCOMING", "BOTH"] = "OUTGOING",
        edge_types: Annotated[
            list[str] | None, Field(description="Only these edge types; all when omitted.")
        ] = None,
        max_depth: Annotated[int, Field(ge=1, le=10)] = 2,
        limit: Annotated[int, Field(ge=1, le=1000, description="Most claims reached.")] = 50,
    ) -> CallToolResult:
        """Every claim within max_depth edges of start, each once at its shortest
        depth with the edge that reached it; `truncated` says when limit cut it."""
        variables = {
            "start": start,
            "direction": direction,
            "edgeTypes": edge_types,
            "maxDepth": max_depth,
            "limit": limit,
        }
        return await run(documents.TRAVERSE, variables, render_traversal)

    @server.tool(annotations=READ_ONLY)
    async def find_path(
        from_id: ClaimId,
        to_id: ClaimId,
        edge_types: list[str] | None = None,
        max_depth: Annotated[int, Field(ge=1, le=10)] = 5,
    ) -> CallToolResult:
        """A shortest chain of edges between two claims (either direction), or
        `path: null` when none is within max_depth."""
        variables = {"from": from_id, "to": to_id, "edgeTypes": edge_types, "maxDepth": max_depth}
        return await run(documents.FIND_PATH, variables, render_path)

    @server.tool(annotations=READ_ONLY)
    async def evidence_for(
        claim_id: ClaimId, depth: Annotated[int, Field(ge=1, le=10)] = 1
    ) -> CallToolResult:
        """The claims supporting, corroborating and contradicting a claim, with a
        summary whose netSupport runs from -1 (only contradicted) to 1 (only supported)."""
        variables = {"claimId": claim_id, "depth": depth}
        return await run(documents.EVIDENCE_FOR, variables, render_evidence)

    @server.tool(annotations=READ_ONLY)
    async def list_edge_types() -> CallToolResult:
        """The edge types claims can be linked by, with inverse names and whether each
        is transitive or symmetric. Pick edge_type values for submit_claims here."""
        return await run(documents.LIST_EDGE_TYPES, {}, render_edge_types)

    @server.tool(annotations=IDEMPOTENT_WRITE)
    async def submit_claims(
        source: SourceInput,
        claims: Annotated[list[ClaimInput], Field(min_length=1, max_length=500)],
        edges: list[EdgeInput] | None = None,
        namespace: Annotated[
            str | None, Field(description="Default dotted namespace of the claims.")
        ] = None,
        create_namespaces: bool = False,
        idempotency_key: Annotated[
            str | None,
            Field(
                description="Resending a key returns the first answer; default: a hash "
                "of the submission, so the same call twice writes once."
            ),
        ] = None,
    ) -> CallToolResult:
        """Write claims from one source, and edges among them or to existing claims,
        in one atomic bundle: all or nothing, every problem reported with its path.
        Needs the bundles:write scope. Returns each temp_id's new claim id."""
        bundle = bundle_input(source, claims, edges or [], namespace, create_namespaces)
        bundle["idempotencyKey"] = idempotency_key or submission_key(bundle)
        return await run(documents.SUBMIT_CLAIMS, {"input": bundle}, render_submission)

    @server.tool(annotations=IDEMPOTENT_WRITE)
    async def review_claim(
        claim_id: ClaimId,
        verdict: Literal["ENDORSE", "DISPUTE", "REQUEST_REVISION", "RETRACT"],
        confidence: Annotated[float, Field(ge=0, le=1)] = 1.0,
        comment: str | None = None,
    ) -> CallToolResult:
        """Judge a claim version as the calling agent; a second review by the same
        agent replaces the first. Needs reviews:write. Returns the new confidence."""
        review = {
            "claimId": claim_id,
            "verdict": verdict,
            "confidence": confidence,
            "comment": comment,
        }
        return await run(documents.REVIEW_CLAIM, {"input": review}, render_review)

    @server.tool(annotations=WRITES)
    async def revise_claim(
        claim_id: ClaimId,
        content: str | None = None,
        claim_type: ClaimType | None = None,
        formal_content: str | None = None,
        namespace: str | None = None,
    ) -> CallToolResult:
        """Make a new version of a claim (its creator or an admin); omitted fields are
        kept, the old version becomes deprecated and keeps its history and edges."""
        changes = {
            "content": content,
            "claimType": claim_type,
            "formalContent": formal_content,
            "namespace": namespace,
        }
        variables = {"id": claim_id, "input": {k: v for k, v in changes.items() if v is not None}}
        return await run(documents.REVISE_CLAIM, variables, render_revision)

    @server.tool(annotations=WRITES)
    async def link_claims(
        source_id: ClaimId,
        target_id: ClaimId,
        edge_type: Annotated[str, Field(description="See list_edge_types.")],
        strength: Annotated[float, Field(ge=0, le=1)] = 1.0,
    ) -> CallToolResult:
        """Relate two existing claims with a typed edge (source supports target, ...).
        Needs claims:write."""
        edge = {
            "sourceId": source_id,
            "targetId": target_id,
            "edgeType": edge_type,
            "strength": strength,
        }
        return await run(documents.LINK_CLAIMS, {"input": edge}, render_edge)

    @server.tool(annotations=IDEMPOTENT_WRITE)
    async def ingest_paper(
        format: Annotated[
            papers.PaperFormat,
            Field(description="What the document is: pdf, markdown, jats (XML), latex, text."),
        ],
        content: Annotated[
            str | None, Field(description="The document's text (every format but pdf).")
        ] = None,
        content_base64: Annotated[
            str | None, Field(description="The document's bytes in base64 (pdf, or any).")
        ] = None,
        name: Annotated[
            str | None, Field(description="Its file name, kept on the source (paper.pdf).")
        ] = None,
    ) -> CallToolResult:
        """Read a whole paper into the graph with the paper-ingestion extension: its
        claim-like sentences become claims (typed, with extraction confidence), related
        by edges, cited works (DOI, arXiv id) linked or left as pending references, all
        from one source found by its identifiers. One atomic bundle; the same document
        from the same key again returns the first answer. Needs the bundles:write scope.
        Returns each claim's id."""
        gateway = _current_gateway.get()
        try:
            source = papers.paper_source(
                format, content, content_base64, name, settings.max_request_bytes
            )
            # Refused keys are turned away before the reading, which can take seconds;
            # submitBundle checks the scope again and decides.
            await _may_submit_bundles(gateway)
            if not readers:
                from phiacta.extensions.paper_ingestion import PaperIngestion

                readers.append(PaperIngestion.from_settings(settings))
            bundle = await anyio.to_thread.run_sync(
                papers.paper_bundle, readers[0], source, settings.max_bundle_claims
            )
        except PhiactaError as exc:
            return tool_error(GatewayError.from_error(exc))
        except GatewayError as error:
            return tool_error(error)
        return await run(documents.SUBMIT_CLAIMS, {"input": bundle}, render_submission)

    add_resources(server)
    add_prompts(server)
    return server


async def _may_submit_bundles(gateway: Gateway) -> None:
    """GatewayError unless the caller's key may submit bundles (as GraphQL would say)."""
    viewer = (await gateway.execute(documents.VIEWER_SCOPES, {})).get("viewer")
    if viewer is None:
        raise GatewayError(
            "UNAUTHENTICATED", "this operation needs an API key: send Authorization: Bearer <key>"
        )
    if not {"bundles:write", "admin"} & set(viewer["scopes"]):
        raise GatewayError("FORBIDDEN", "the API key lacks the bundles:write scope")


def add_resources(server: MCPServer) -> None:
    async def read(document: str, variables: Mapping[str, Any]) -> str:
        try:
            data = await _current_gateway.get().execute(document, variables)
        except GatewayError as error:
            return to_json({"error": error_body(error)})
        return to_json(data)

    @server.resource("phiacta://schema", name="graphql-schema", mime_type="application/graphql")
    def graphql_schema() -> str:
        """The GraphQL schema (SDL) every tool runs against."""
        return schema_sdl()

    @server.resource("phiacta://edge-types", name="edge-types", mime_type="application/json")
    async def edge_types() -> str:
        """The edge-type catalogue: names, inverses, categories, properties."""
        return await read(documents.LIST_EDGE_TYPES, {})

    @server.resource("phiacta://claim/{id}", name="claim", mime_type="application/json")
    async def claim(id: str) -> str:
        """One claim version with confidence, provenance and edges."""
        return await read(documents.GET_CLAIM, {"id": id, "first": 20})

    @server.resource("phiacta://source/{id}", name="source", mime_type="application/json")
    async def source(id: str) -> str:
        """One source: type, title, DOI/URL, content hash."""
        return await read(documents.SOURCE, {"id": id})


def add_prompts(server: MCPServer) -> None:
    @server.prompt(name="ingest_paper")
    def ingest_paper(text: str, reference: str | None = None) -> list[UserMessage]:
        """Extract a paper's claims and submit them as one bundle."""
        ref = f" (reference: {reference})" if reference else ""
        return [
            UserMessage(
                "Read the paper below" + ref + ". Split it into atomic claims: one "
                "statement each, self-contained, with its claim type. Call list_edge_types, "
                "then search_claims for each key claim to find existing ones. Submit all "
                "claims with submit_claims in one call: source_type PAPER, external_ref the "
                "DOI or URL, a temp_id per claim, a confidence for each extraction, and "
                "edges (supports, contradicts, depends_on, ...) among the new claims and to "
                "the existing claims you found (claim_id). Report the ids you got and any "
                "warnings.\n\n" + text
            )
        ]

    @server.prompt(name="find_contradictions")
    def find_contradictions(claim_id: str) -> list[UserMessage]:
        """Look for claims that contradict a claim, directly or nearby."""
        return [
            UserMessage(
                f"Find contradictions around claim {claim_id}. Call get_claim on it, then "
                "evidence_for (depth 2) and traverse with edge_types [contradicts] in "
                "direction BOTH. Then search_claims with the claim's content (SEMANTIC) and "
                "read the closest hits: say which of them contradict it without an edge "
                "yet, and propose link_claims calls for those (do not make them)."
            )
        ]

    @server.prompt(name="summarise_evidence")
    def summarise_evidence(claim_id: str) -> list[UserMessage]:
        """Summarise the evidence for and against a claim."""
        return [
            UserMessage(
                f"Summarise the evidence for claim {claim_id}. Call get_claim for its "
                "content, confidence and provenance, and evidence_for with depth 2. Write: "
                "the claim; its epistemic status and reviews; the supporting and "
                "corroborating claims (with their sources); the contradicting ones; and the "
                "net support, each with the claim ids you cite."
            )
        ]


# Tool results.

Render = Callable[[dict[str, Any]], str]


def to_json(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def error_body(error: GatewayError) -> dict[str, Any]:
    return {"code": error.code, "message": error.message, **error.extensions}


def tool_error(error: GatewayError) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=str(error))],
        structured_content={"error": error_body(error)},
        is_error=True,
    )


def submission_key(bundle: Mapping[str, Any]) -> str:
    """The idempotency key of a submission without one: the same body, the same key."""
    digest = hashlib.sha256(orjson.dumps(bundle, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"mcp-{digest[:40]}"


def bundle_input(
    source: SourceInput,
    claims: list[ClaimInput],
    edges: list[EdgeInput],
    namespace: str | None,
    create_namespaces: bool,
) -> dict[str, Any]:
    """The SubmitBundleInput of a submit_claims call."""
    return {
        "source": {
            "sourceType": source.source_type,
            "title": source.title,
            "externalRef": source.external_ref,
        },
        "claims": [
            {
                "tempId": claim.temp_id,
                "content": claim.content,
                "claimType": claim.claim_type,
                "namespace": claim.namespace,
                "confidence": claim.confidence,
                "locationInSource": claim.location_in_source,
                "extractionMethod": "mcp",
            }
            for claim in claims
        ],
        "edges": [
            {
                "source": claim_ref(edge.source),
                "target": claim_ref(edge.target),
                "edgeType": edge.edge_type,
                "strength": edge.strength,
            }
            for edge in edges
        ],
        "namespace": namespace,
        "createNamespaces": create_namespaces,
    }


def claim_ref(ref: ClaimRef) -> dict[str, str | None]:
    return {"tempId": ref.temp_id, "claimId": ref.claim_id, "externalRef": ref.external_ref}


def claim_line(claim: Mapping[str, Any]) -> str:
    confidence = claim.get("confidence") or {}
    status = confidence.get("epistemicStatus")
    tail = f", {status.lower()}" if status else ""
    return f"[{claim['id']}] ({str(claim.get('status', '')).lower()}{tail}) {claim['content']}"


def render_search(data: dict[str, Any]) -> str:
    hits = data["search"]["hits"]
    if not hits:
        return "No claims found."
    lines = [f"{len(hits)} claims, best first:"]
    lines += [f"{hit['rank']}. {claim_line(hit['claim'])}" for hit in hits]
    return "\n".join(lines)


def render_claim(data: dict[str, Any]) -> str:
    claim = data.get("claim")
    if claim is None:
        return "No claim with that id."
    confidence = claim["confidence"]
    lines = [
        claim_line(claim),
        f"type {claim['claimType'].lower()}, version {claim['version']}, "
        f"{confidence['reviewCount']} reviews ({confidence['endorsementCount']} endorse, "
        f"{confidence['disputeCount']} dispute)",
    ]
    for edge in claim["outgoing"]["edges"]:
        node = edge["node"]
        lines.append(f"  -> {node['label']} [{node['targetId']}] {node['target']['content']}")
    for edge in claim["incoming"]["edges"]:
        node = edge["node"]
        lines.append(f"  <- {node['label']} [{node['sourceId']}] {node['source']['content']}")
    return "\n".join(lines)


def render_traversal(data: dict[str, Any]) -> str:
    walk = data["traverse"]
    lines = [
        f"{'  ' * node['depth']}{node['via']['edgeType'] + ' ' if node['via'] else ''}"
        f"[{node['claim']['id']}] {node['claim']['content']}"
        for node in walk["nodes"]
    ]
    if walk["truncated"]:
        lines.append("(truncated: more claims were in reach)")
    return "\n".join(lines)


def render_path(data: dict[str, Any]) -> str:
    path = data.get("path")
    if path is None:
        return "No path within the depth."
    lines = [f"A path of {path['length']} edges:"]
    for index, claim in enumerate(path["claims"]):
        lines.append(f"[{claim['id']}] {claim['content']}")
        if index < len(path["edges"]):
            lines.append(f"  {path['edges'][index]['edgeType']}")
    return "\n".join(lines)


def render_evidence(data: dict[str, Any]) -> str:
    evidence = data["evidence"]
    summary = evidence["summary"]
    lines = [
        f"Evidence for [{evidence['claim']['id']}] {evidence['claim']['content']}",
        f"net support {summary['netSupport']:.2f}: {summary['supportingCount']} supporting, "
        f"{summary['corroboratingCount']} corroborating, "
        f"{summary['contradictingCount']} contradicting",
    ]
    for kind in ("supporting", "corroborating", "contradicting"):
        for item in evidence[kind]:
            lines.append(f"  {kind} (depth {item['depth']}): {claim_line(item['claim'])}")
    return "\n".join(lines)


def render_edge_types(data: dict[str, Any]) -> str:
    lines = []
    for edge_type in data["edgeTypes"]:
        traits = [
            name
            for name, flag in (
                ("transitive", edge_type["isTransitive"]),
                ("symmetric", edge_type["isSymmetric"]),
            )
            if flag
        ]
        inverse = f" (inverse: {edge_type['inverseName']})" if edge_type["inverseName"] else ""
        extra = f" [{', '.join(traits)}]" if traits else ""
        lines.append(f"{edge_type['name']}{inverse}, {edge_type['category'].lower()}{extra}")
    return "\n".join(lines)


def render_submission(data: dict[str, Any]) -> str:
    payload = data["submitBundle"]
    verb = "Already submitted" if payload["replayed"] else "Submitted"
    lines = [f"{verb}: bundle {payload['bundleId']}, source {payload['sourceId']}"]
    lines += [f"  {claim['tempId']} -> {claim['id']}" for claim in payload["claims"]]
    lines += [f"  warning {w['path']}: {w['message']}" for w in payload["warnings"]]
    return "\n".join(lines)


def render_review(data: dict[str, Any]) -> str:
    payload = data["createReview"]
    review = payload["review"]
    confidence = review["claim"]["confidence"]
    verb = "Replaced the review" if payload["replaced"] else "Reviewed"
    return (
        f"{verb}: {review['verdict'].lower()} on [{review['claimId']}]; the claim is now "
        f"{confidence['epistemicStatus'].lower()} ({confidence['reviewCount']} reviews)"
    )


def render_revision(data: dict[str, Any]) -> str:
    claim = data["reviseClaim"]
    return f"New version {claim['version']} (replaces {claim['supersedesId']}): {claim_line(claim)}"


def render_edge(data: dict[str, Any]) -> str:
    edge = data["createEdge"]
    return f"Edge {edge['id']}: {edge['sourceId']} {edge['edgeType']} {edge['targetId']}"
