"""A target on a running server, through the SDK (`phiacta ingest --server URL --key KEY`).

The key's agent submits. With an admin key the extension is registered first (its
agent and first key made by `registerExtension`) and its bundles are submitted with that
key; an extension registered earlier, or a key that may not register, submits as is.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self
from uuid import UUID

from phiacta.auth.manifest import Manifest
from phiacta.extensions.runner import Submitted, bundle_input
from phiacta.ingest.spec import BundleSpec
from phiacta.sdk import BundleResult as RemoteResult
from phiacta.sdk import Conflict, PermissionDenied, PhiactaClient

REGISTER = """
mutation ($input: RegisterExtensionInput!) { registerExtension(input: $input) { key } }
"""
ACCEPTED = """
query ($key: String!) {
  bundles(idempotencyKey: $key, status: ACCEPTED, first: 1) {
    edges { node { id claimCount } }
  }
}
"""


class ServerTarget:
    def __init__(self, url: str, key: str) -> None:
        self._url = url
        self._client = PhiactaClient(url, key)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self._client.aclose()

    async def register(self, manifest: Manifest) -> None:
        given = manifest.as_attrs()
        try:
            data = await self._client.execute(
                REGISTER, {"input": {"manifest": given}}, idempotent=False
            )
        except (Conflict, PermissionDenied):
            return
        await self._client.aclose()
        self._client = PhiactaClient(self._url, str(data["registerExtension"]["key"]))

    async def accepted(self, key: str) -> Submitted | None:
        data = await self._client.execute(ACCEPTED, {"key": key})
        edges = data["bundles"]["edges"]
        if not edges:
            return None
        node = edges[0]["node"]
        return Submitted(UUID(node["id"]), int(node["claimCount"]), 0, 0, [], replayed=True)

    async def submit(self, spec: BundleSpec) -> Submitted:
        result: RemoteResult = await self._client.submit_bundle(bundle_input(spec))
        return Submitted(
            bundle_id=result.bundle_id,
            claims=len(result.claims),
            pending_references=len(result.pending_references),
            resolved_references=len(result.resolved_references),
            warnings=[f"{w.path}: {w.code}" for w in result.warnings if w.code != "NO_EDGES"],
            replayed=result.replayed,
        )
