"""Permission classes, named for what they allow. Attach them to fields and mutations:
`@strawberry.mutation(permission_classes=[CanWriteClaims])`.

A missing key gives UNAUTHENTICATED; a key without the scope gives FORBIDDEN.
"""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from phiacta.auth.viewer import Scope, Viewer
from phiacta.errors import Forbidden, Unauthenticated
from phiacta.graphql.context import Context, Info


def require_viewer(context: Context) -> Viewer:
    """The caller's viewer, or UNAUTHENTICATED."""
    if context.viewer is None:
        raise Unauthenticated("this operation needs an API key: send Authorization: Bearer <key>")
    return context.viewer


def require_scope(context: Context, scope: Scope) -> Viewer:
    """The caller's viewer when it holds `scope` (or admin), else the coded refusal."""
    viewer = require_viewer(context)
    if not viewer.has(scope):
        raise Forbidden(f"the API key lacks the {scope.value} scope")
    return viewer


class _ScopePermission(BasePermission):
    scope: Scope

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        require_scope(info.context, self.scope)
        return True


class CanReadClaims(BasePermission):
    """Reads are open when PUBLIC_READS is true; otherwise they need claims:read."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if info.context.settings.public_reads:
            return True
        require_scope(info.context, Scope.CLAIMS_READ)
        return True


class CanWriteClaims(_ScopePermission):
    scope = Scope.CLAIMS_WRITE


class CanWriteBundles(_ScopePermission):
    scope = Scope.BUNDLES_WRITE


class CanWriteReviews(_ScopePermission):
    scope = Scope.REVIEWS_WRITE


class IsAdmin(_ScopePermission):
    scope = Scope.ADMIN


class IsAuthenticated(BasePermission):
    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        require_viewer(info.context)
        return True


def guard_reads(query_type: type, exempt: frozenset[str] = frozenset()) -> None:
    """Give every root query field that declares no permission of its own `CanReadClaims`.

    Run once on the Query type before the schema is built: a read field added later by
    any module is then covered by PUBLIC_READS without having to remember it.
    """
    from strawberry.permission import PermissionExtension

    definition = query_type.__strawberry_definition__  # type: ignore[attr-defined]
    for field in definition.fields:
        if field.permission_classes or field.python_name in exempt:
            continue
        field.permission_classes = [CanReadClaims]
        field.extensions.append(PermissionExtension([CanReadClaims()], use_directives=False))
