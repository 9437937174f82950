#!/usr/bin/env python3
"""Validate every OpenAPI document under a folder.

Usage: python3 scripts/validate_specs.py [DIR]   (default: specs/)

Each .yaml/.yml/.json file under DIR (fixtures included) is checked with
openapi-spec-validator. Prints `ok <file>` or `FAIL <file>: <error>`; exits 1 if any
file failed, 2 if DIR holds no documents or the dependencies are missing.
Needs: pip install openapi-spec-validator pyyaml
"""
import json
import sys
from pathlib import Path

try:
    import yaml
    from openapi_spec_validator import validate
except ImportError as exc:  # pragma: no cover - environment problem
    print(f"missing dependency: {exc}; run: pip install openapi-spec-validator pyyaml", file=sys.stderr)
    sys.exit(2)

SUFFIXES = {".yaml", ".yml", ".json"}


def load(path: Path):
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    return yaml.safe_load(text)


SKIP = "skip"


def check(path: Path):
    """Return None when the document is valid, else a one-paragraph error message."""
    try:
        doc = load(path)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        return f"cannot parse: {exc}"
    if not isinstance(doc, dict):
        return "not an OpenAPI document (top level is not a mapping)"
    if "sandgate-scenarios" in doc:
        return SKIP  # business rules for the emulator, checked by its own loader
    try:
        validate(doc, base_uri=path.resolve().as_uri())
    except Exception as exc:  # the validator raises several exception types
        return str(exc)
    return None


def main(argv):
    root = Path(argv[1] if len(argv) > 1 else "specs")
    if not root.is_dir():
        print(f"not a directory: {root}", file=sys.stderr)
        return 2
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
    if not files:
        print(f"no .yaml/.yml/.json files under {root}", file=sys.stderr)
        return 2
    failed = 0
    for path in files:
        error = check(path)
        if error is SKIP:
            print(f"skip {path} (scenarios)")
        elif error is None:
            print(f"ok {path}")
        else:
            failed += 1
            print(f"FAIL {path}: {error}")
    print(f"{len(files) - failed}/{len(files)} valid")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
