"""Fetch the pinned GraphiQL / Explorer plugin / React UMD files into app/static/vendor/
(issue #6: GraphiQL offline), with ``npm pack`` when npm is present.

    .venv/bin/python scripts/fetch_graphiql.py [--require] [--force]

The pins (package, version, file, SRI hash) are ``app.devtools.graphiql.ASSETS``. Each package is
packed into a temporary folder (no node_modules, no install scripts); only the listed files
are taken out of the tarball, checked against their hash and written atomically. A no-op when
every file is already there with the right hash. Without npm it says so and exits 0 (the page
falls back to the CDN) unless ``--require`` is given; a failing npm or a wrong hash exits 1.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.devtools.graphiql import ASSETS, VENDOR_DIR, Asset

NPM_TIMEOUT_SECONDS = 300


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def up_to_date(asset: Asset, vendor_dir: Path) -> bool:
    target = vendor_dir / asset.relpath
    return target.is_file() and sri(target.read_bytes()) == asset.integrity


def npm_pack(npm: str, spec: str, into: Path) -> Path:
    """``npm pack <spec>`` into ``into``: the tarball's path."""
    result = subprocess.run(  # noqa: S603 (npm from PATH, a pinned name@version)
        [npm, "pack", spec, "--json", "--ignore-scripts", "--silent"],
        cwd=into,
        capture_output=True,
        text=True,
        timeout=NPM_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"npm pack {spec} failed ({result.returncode}):\n{result.stderr}")
    filename = json.loads(result.stdout)[0]["filename"]
    # Scoped packages: "@scope/name" packs to "scope-name-<version>.tgz".
    return into / str(filename).lstrip("@").replace("/", "-")


def extract(tarball: Path, asset: Asset, vendor_dir: Path) -> None:
    """Take ``asset`` out of ``tarball``, check its hash, write it atomically."""
    with tarfile.open(tarball, "r:gz") as archive:
        member = archive.extractfile(f"package/{asset.path}")
        if member is None:
            raise RuntimeError(f"{asset.spec}: package/{asset.path} is not a file")
        data = member.read()
    if sri(data) != asset.integrity:
        raise RuntimeError(
            f"{asset.relpath}: hash {sri(data)} does not match the pinned {asset.integrity}"
        )
    target = vendor_dir / asset.relpath
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, target)


def fetch(vendor_dir: Path, *, require: bool, force: bool) -> int:
    missing = [a for a in ASSETS if force or not up_to_date(a, vendor_dir)]
    if not missing:
        print(f"graphiql: the pinned files are in {vendor_dir}")
        return 0
    npm = shutil.which("npm")
    if npm is None:
        print(
            "graphiql: npm not found; GraphiQL at /graphql will load its files from the CDN "
            "(install Node.js/npm and run `make graphiql` to serve them offline)",
            file=sys.stderr,
        )
        return 1 if require else 0
    specs = sorted({a.spec for a in missing})
    vendor_dir.mkdir(parents=True, exist_ok=True)
    # Ignored by git even before the root .gitignore says so (as a venv does).
    (vendor_dir / ".gitignore").write_text("# Fetched by scripts/fetch_graphiql.py.\n*\n")
    print(f"graphiql: npm pack {' '.join(specs)} -> {vendor_dir}")
    try:
        with tempfile.TemporaryDirectory(prefix="graphiql-pack-") as tmp:
            tarballs = {spec: npm_pack(npm, spec, Path(tmp)) for spec in specs}
            for asset in missing:
                extract(tarballs[asset.spec], asset, vendor_dir)
    except (RuntimeError, OSError, KeyError, ValueError, subprocess.TimeoutExpired) as e:
        print(f"graphiql: fetching failed: {e}", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--require", action="store_true", help="fail when npm is missing")
    parser.add_argument("--force", action="store_true", help="fetch even when up to date")
    parser.add_argument("--vendor-dir", type=Path, default=VENDOR_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args()
    return fetch(args.vendor_dir, require=args.require, force=args.force)


if __name__ == "__main__":
    sys.exit(main())
