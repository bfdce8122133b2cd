"""Creating the namespaces a bundle asked for, inside its transaction."""

from __future__ import annotations

from uuid import UUID

from phiacta.ingest.validate import References
from phiacta.store import Connection
from phiacta.store import namespaces as namespace_store
from phiacta.store.namespaces import NamespaceExists


async def ensure_namespaces(conn: Connection, refs: References) -> dict[str, UUID]:
    """Every path the bundle uses, mapped to its namespace id, creating the missing ones
    (and their missing ancestors). Validation already refused missing paths unless the
    bundle asked for them to be created."""
    ids = dict(refs.namespace_ids)
    for path in sorted(refs.missing_namespaces, key=lambda p: p.count(".")):
        segments = path.split(".")
        prefixes = [".".join(segments[: i + 1]) for i in range(len(segments))]
        found = await namespace_store.namespaces_by_path(conn, prefixes)
        parent_id: UUID | None = None
        for name, prefix in zip(segments, prefixes, strict=True):
            row = found.get(prefix)
            if row is not None:
                parent_id = row.id
                continue
            try:
                parent_id = await namespace_store.insert_namespace(
                    conn, name=name, parent_id=parent_id, description=None, attrs={}
                )
            except NamespaceExists:
                # Another writer created it a moment ago: its commit made it visible.
                again = await namespace_store.namespaces_by_path(conn, [prefix])
                parent_id = again[prefix].id
        assert parent_id is not None
        ids[path] = parent_id
    return ids
