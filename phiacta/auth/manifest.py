"""Extension manifests: what an extension agent declares it will write.

An extension is an agent of type `extension` whose `attrs.manifest` holds
`{id, name, version, capabilities, claimTypes, edgeTypes}`. `parse_manifest` checks a
manifest given to `registerExtension` and lists every problem at once. The write path
calls `enforce_manifest` before writing: a claim type or edge type that the calling
extension did not declare is refused (FORBIDDEN, with the path of every offending
item). Callers that are not extensions, and extensions whose manifest leaves a list
out, are not restricted by it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from phiacta.auth.viewer import Viewer
from phiacta.errors import ErrorCode, FieldProblem, Forbidden, ValidationFailed

CLAIM_TYPES = frozenset(
    {
        "assertion",
        "definition",
        "theorem",
        "conjecture",
        "observation",
        "method",
        "question",
        "evidence",
    }
)
EXTENSION_AGENT_TYPE = "extension"
MAX_NAME_LENGTH = 200
MAX_LIST_LENGTH = 100

# Reverse-DNS or plain identifiers: `org.example.paper-bot`, `paper_bot`.
_EXTENSION_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,127}$")
_CAPABILITY = re.compile(r"^[a-z][a-z0-9_:.-]{0,63}$")
# Semantic Versioning 2.0.0, the regular expression semver.org recommends.
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


@dataclass(frozen=True)
class Manifest:
    id: str
    name: str
    version: str
    capabilities: tuple[str, ...]
    claim_types: tuple[str, ...]
    edge_types: tuple[str, ...]

    def as_attrs(self) -> dict[str, Any]:
        """The manifest as stored in the agent's `attrs.manifest`."""
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "capabilities": list(self.capabilities),
            "claimTypes": list(self.claim_types),
            "edgeTypes": list(self.edge_types),
        }


class ManifestViolation(Forbidden):
    """A write outside the calling extension's manifest; `details` names every item."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = problems
        listed = "; ".join(str(p) for p in problems[:5])
        super().__init__(f"outside the extension's manifest: {listed}")

    def extensions(self) -> dict[str, object]:
        return {
            "details": [
                {"path": p.path, "message": p.message, "code": str(p.code)} for p in self.problems
            ]
        }


def parse_manifest(
    *,
    id: str,
    name: str,
    version: str,
    capabilities: Sequence[str],
    claim_types: Sequence[str],
    edge_types: Sequence[str],
    known_edge_types: Iterable[str],
    path: str = "manifest",
) -> Manifest:
    """The checked manifest, or VALIDATION_FAILED listing every problem with its path."""
    problems: list[FieldProblem] = []
    if not _EXTENSION_ID.match(id):
        problems.append(
            FieldProblem(
                f"{path}.id",
                "must be 2-128 characters of a-z, 0-9, '.', '_' or '-' (e.g. org.example.bot)",
            )
        )
    if not name.strip() or len(name) > MAX_NAME_LENGTH:
        problems.append(FieldProblem(f"{path}.name", f"must be 1-{MAX_NAME_LENGTH} characters"))
    if not _SEMVER.match(version):
        problems.append(FieldProblem(f"{path}.version", "must be a semantic version such as 1.4.0"))
    problems += _list_problems(f"{path}.capabilities", capabilities, _capability_problem)
    problems += _list_problems(
        f"{path}.claimTypes",
        claim_types,
        lambda v: None if v in CLAIM_TYPES else f"unknown claim type; known: {_known(CLAIM_TYPES)}",
    )
    edge_vocabulary = frozenset(known_edge_types)
    problems += _list_problems(
        f"{path}.edgeTypes",
        edge_types,
        lambda v: None if v in edge_vocabulary else "unknown edge type",
        ErrorCode.EDGE_TYPE_UNKNOWN,
    )
    if problems:
        raise ValidationFailed(problems)
    return Manifest(
        id=id,
        name=name.strip(),
        version=version,
        capabilities=tuple(capabilities),
        claim_types=tuple(claim_types),
        edge_types=tuple(edge_types),
    )


def enforce_manifest(
    viewer: Viewer | None,
    *,
    claim_types: Iterable[tuple[str, str]] = (),
    edge_types: Iterable[tuple[str, str]] = (),
) -> None:
    """Refuse claim and edge types the calling extension did not declare.

    `claim_types` and `edge_types` are `(path, value)` pairs, e.g.
    `("input.claims[3].claimType", "theorem")`, with values in the database's spelling.
    """
    if viewer is None or viewer.agent_type != EXTENSION_AGENT_TYPE:
        return
    problems = _undeclared(viewer.manifest, "claimTypes", "claim type", claim_types)
    problems += _undeclared(viewer.manifest, "edgeTypes", "edge type", edge_types)
    if problems:
        raise ManifestViolation(problems)


def _undeclared(
    manifest: Mapping[str, Any], key: str, noun: str, items: Iterable[tuple[str, str]]
) -> list[FieldProblem]:
    declared = manifest.get(key)
    if not isinstance(declared, list):
        return []
    allowed = {str(v) for v in declared}
    return [
        FieldProblem(path, f"{noun} {value!r} is not declared in the manifest", ErrorCode.FORBIDDEN)
        for path, value in items
        if value not in allowed
    ]


def _capability_problem(value: str) -> str | None:
    if _CAPABILITY.match(value):
        return None
    return "must be 1-64 characters of a-z, 0-9, '_', ':', '.' or '-', starting with a letter"


def _list_problems(
    path: str,
    values: Sequence[str],
    check: Callable[[str], str | None],
    code: ErrorCode = ErrorCode.INVALID_VALUE,
) -> list[FieldProblem]:
    if len(values) > MAX_LIST_LENGTH:
        return [FieldProblem(path, f"at most {MAX_LIST_LENGTH} entries")]
    problems: list[FieldProblem] = []
    seen: set[str] = set()
    for i, value in enumerate(values):
        message = check(value)
        if message is not None:
            problems.append(FieldProblem(f"{path}[{i}]", message, code))
        elif value in seen:
            problems.append(FieldProblem(f"{path}[{i}]", f"{value!r} is listed twice"))
        seen.add(value)
    return problems


def _known(values: Iterable[str]) -> str:
    return ", ".join(sorted(values))
