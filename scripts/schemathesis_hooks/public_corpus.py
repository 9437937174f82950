"""Schemathesis hooks for the public corpus (scripts/schemathesis.sh public): the issue's bar is
"no failure other than a 4xx the spec does not document". A public spec rarely documents the
400 its server answers a malformed request with, and the emulator must refuse those requests, so
an undocumented 4xx is admitted; an undocumented 2xx, 3xx or 5xx still fails. Loaded with
SCHEMATHESIS_HOOKS=public_corpus and PYTHONPATH=scripts/schemathesis_hooks, beside
--exclude-checks status_code_conformance."""

import schemathesis
from schemathesis.specs.openapi.checks import status_code_conformance


@schemathesis.check
def status_code_conformance_but_4xx(ctx, response, case):
    """Every status must be documented, except a client error the spec leaves out."""
    if 400 <= response.status_code < 500:
        return None
    return status_code_conformance(ctx, response, case)
