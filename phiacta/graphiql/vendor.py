"""Fetch GraphiQL's browser files from the npm registry into `phiacta/graphiql/assets/`.

    python -m phiacta.graphiql.vendor        # or: make vendor-graphiql

The page at /graphql must work without the internet (an air-gapped lab, a strict CSP),
so the server ships every file it loads. This script is how they got here, and how to
update them: each package is fetched with `npm pack NAME@VERSION` (npm checks the
tarball against the registry's integrity), the tarball is checked against the sha512
pinned below, and the listed files are copied under a folder named for the package and
version, beside the package's licence. `manifest.json` records, per file, the package
it came from and its sha384 (the page's Subresource Integrity). The outputs are
committed; running the script again with the same pins writes the same bytes.

One change is made to the packages' bytes: a trailing `sourceMappingURL` comment is
removed (`without_source_map`). The maps are not shipped (graphiql's is megabytes), and
the comment would send a browser's developer tools to a URL this server answers 404.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    tarball_sha512: str  # npm's `integrity` of the tarball
    files: tuple[str, ...]  # paths inside the tarball's `package/`
    licence: str  # SPDX id, from package.json

    @property
    def folder(self) -> str:
        return f"{self.name.replace('@', '').replace('/', '-')}-{self.version}"


# The versions Strawberry's own GraphiQL page pins (strawberry/static/graphiql.html),
# minus js-cookie, which only read Django's CSRF cookie.
PACKAGES = (
    Package(
        "react",
        "18.2.0",
        "sha512-/3IjMdb2L9QbBdWiW5e3P2/npwMBaU9mHCSCUzNln0ZCYbcfTsGbTJrU/kGemdH2IWmB2ioZ+zkxtmq6g09fGQ==",
        ("umd/react.production.min.js",),
        "MIT",
    ),
    Package(
        "react-dom",
        "18.2.0",
        "sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==",
        ("umd/react-dom.production.min.js",),
        "MIT",
    ),
    Package(
        "graphiql",
        "3.8.3",
        "sha512-cuPDYtXVKV86Pu5PHBX642Odi/uVEE2y1Jxq5rGO/Qy1G2lRp7ZZ7a/T30RzxhuLSWo9zUbzq0P3U49//H0Ugw==",
        ("graphiql.min.js", "graphiql.min.css"),
        "MIT",
    ),
    Package(
        "@graphiql/plugin-explorer",
        "1.0.2",
        "sha512-9j+kg2UjtLZD5EBmGjeWHkoVVxtbShYg2DzbUVebibnZYZM/iMBEF4vaccXJIAm5KaomIPLx0aoNs4LbODyc3Q==",
        ("dist/index.umd.js", "dist/style.css"),
        "MIT",
    ),
)


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


# `//# sourceMappingURL=x.map` (JavaScript) or `/*# sourceMappingURL=x.map*/` (CSS) at
# the end of a file, with the blank lines before it.
_SOURCE_MAP_COMMENT = re.compile(
    rb"\s*(?://# sourceMappingURL=\S+|/\*# sourceMappingURL=\S+?\s*\*/)\s*\Z"
)


def without_source_map(data: bytes) -> bytes:
    """`data` without its trailing sourceMappingURL comment, ending in one newline."""
    found = _SOURCE_MAP_COMMENT.search(data)
    return data if found is None else data[: found.start()] + b"\n"


def _tarball_integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def _pack(package: Package, workdir: Path) -> Path:
    spec = f"{package.name}@{package.version}"
    output = subprocess.run(
        ["npm", "pack", spec, "--json", "--pack-destination", str(workdir)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    [packed] = json.loads(output)
    tarball = workdir / str(packed["filename"])
    found = _tarball_integrity(tarball.read_bytes())
    if package.tarball_sha512 and found != package.tarball_sha512:
        raise SystemExit(f"{spec}: tarball integrity {found} is not the pinned one")
    return tarball


def _licence_text(package: Package, members: dict[str, bytes]) -> bytes:
    for name in ("LICENSE", "LICENSE.md", "LICENSE.txt", "license"):
        if name in members:
            return members[name]
    # Some packages (the explorer plugin) ship no licence file: their package.json
    # states it, and the notice says so.
    meta = json.loads(members["package.json"])
    repository = meta.get("repository")
    url = repository.get("url") if isinstance(repository, dict) else repository
    return (
        f"{package.name} {package.version} is released under the {meta.get('license')} "
        f"licence (package.json). No licence file is included in its npm package.\n"
        f"Source: {url}\n"
    ).encode()


def _extract(package: Package, tarball: Path) -> dict[str, bytes]:
    members: dict[str, bytes] = {}
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            if member.isfile():
                extracted = archive.extractfile(member)
                assert extracted is not None
                members[member.name.removeprefix("package/")] = extracted.read()
    return members


def vendor() -> dict[str, object]:
    if ASSETS.exists():
        for child in ASSETS.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
    ASSETS.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, object] = {"packages": [], "files": {}}
    files: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as work:
        for package in PACKAGES:
            tarball = _pack(package, Path(work))
            members = _extract(package, tarball)
            target = ASSETS / package.folder
            target.mkdir()
            for path in package.files:
                data = without_source_map(members[path])
                name = Path(path).name
                (target / name).write_bytes(data)
                files[f"{package.folder}/{name}"] = {"package": package.name, "sri": sri(data)}
            (target / "LICENSE").write_bytes(_licence_text(package, members))
            manifest["packages"].append(  # type: ignore[attr-defined]
                {
                    "name": package.name,
                    "version": package.version,
                    "licence": package.licence,
                    "tarball": _tarball_integrity(tarball.read_bytes()),
                    "folder": package.folder,
                }
            )
    manifest["files"] = dict(sorted(files.items()))
    (ASSETS / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


if __name__ == "__main__":
    written = vendor()
    print(json.dumps(written, indent=2), file=sys.stderr)
