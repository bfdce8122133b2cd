"""Text no column can store, refused where a request arrives.

PostgreSQL's text types cannot hold NUL (U+0000), and UTF-8 cannot encode an unpaired
surrogate (U+D800 to U+DFFF): either one, reaching a write or a query, fails deep inside
it as an internal error. So every string a request carries (its variables, extensions,
operation name and the string literals of its document, keys included) is checked
once, at the boundary, and the request is refused with the path of the first bad one;
no field checks it again.

The checks cost almost nothing on ordinary requests: in a JSON body both characters can
only arrive escaped (`\\u0000`, `\\ud800`), and a document can only carry them raw or
as a `\\u` escape, so the values are walked only when such a sequence is present.
"""

from __future__ import annotations

import re
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    ObjectFieldNode,
    StringValueNode,
    Visitor,
    visit,
)

from phiacta.errors import ValidationFailed

MESSAGE = "must not contain NUL characters or unpaired surrogates"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# How the two can appear in JSON text: escaped, in either case; `\\u{` is GraphQL's
# braced escape inside a document (a false alarm, say an escaped backslash before
# `u0000`, only costs a walk).
_ESCAPED_IN_JSON = re.compile(rb"\\u(?:0000|[dD][89a-fA-F]|\{)")


def may_hold_unstorable(body: bytes) -> bool:
    """False when the JSON text `body` certainly decodes to storable strings only."""
    return _ESCAPED_IN_JSON.search(body) is not None


def unstorable_path(value: Any, path: str) -> str | None:
    """The path of the first string in the JSON value `value` (or key of one of its
    objects) that no column can store, else None. Walks without recursion, so no
    nesting can exhaust the stack."""
    pending: list[tuple[Any, str]] = [(value, path)]
    while pending:
        item, where = pending.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                return where
        elif isinstance(item, dict):
            for key, inner in item.items():
                if isinstance(key, str) and _UNSTORABLE.search(key):
                    return f"{where}.{key.encode('unicode_escape').decode()}"
                pending.append((inner, f"{where}.{key}"))
        elif isinstance(item, list):
            pending.extend((inner, f"{where}[{i}]") for i, inner in enumerate(item))
    return None


def check_request(payload: dict[str, Any], document: DocumentNode | None) -> None:
    """Refuse (VALIDATION_FAILED, with the path) a request carrying unstorable text in
    its variables, extensions, operation name or document literals."""
    for name in ("variables", "extensions", "operationName"):
        where = unstorable_path(payload.get(name), name)
        if where is not None:
            raise ValidationFailed.single(where, MESSAGE)
    query = payload.get("query")
    if isinstance(query, str) and document is not None and _may_hold_literal(query):
        where = unstorable_literal(document)
        if where is not None:
            raise ValidationFailed.single(where, MESSAGE)


def _may_hold_literal(query: str) -> bool:
    return "\\u" in query or _UNSTORABLE.search(query) is not None


def unstorable_literal(document: DocumentNode) -> str | None:
    """The path (`query.field.argument.inputField`) of the first string literal of
    `document` that no column can store, else None."""
    finder = _LiteralFinder()
    visit(document, finder)
    return finder.found


class _LiteralFinder(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: str | None = None

    def enter_string_value(
        self, node: StringValueNode, key: Any, parent: Any, path: Any, ancestors: Any
    ) -> Any:
        if self.found is not None or not _UNSTORABLE.search(node.value):
            return None
        names = ["query"]
        for ancestor in [*ancestors, parent]:
            if isinstance(ancestor, FieldNode):
                names.append((ancestor.alias or ancestor.name).value)
            elif isinstance(ancestor, (ArgumentNode, ObjectFieldNode)):
                names.append(ancestor.name.value)
        self.found = ".".join(names)
        return self.BREAK
