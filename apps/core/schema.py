"""OpenAPI post-processing: the error answers every operation can give, documented once.

Views document the errors of their own rules; these come from the machinery around them and would
otherwise be missing (schemathesis checks that every status code an operation answers is in the
schema, tests/api/test_fuzz.py):
- 400: any operation that takes parameters or a body (DRF's validation, in ErrorSerializer's shape);
- 403: every operation (not signed in, CSRF refused, not allowed);
- 404: operations with an id in the path;
- 415: operations with a body, sent in a media type they do not take;
- 429: every write (apps/core/ratelimit.py);
- 503: every operation, while the database cannot be reached (apps/core/middleware.py), with
  `retry_after` in the body and in Retry-After.
"""

ERROR_REF = {"$ref": "#/components/schemas/Error"}
WRITES = {"post", "put", "patch", "delete"}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


def document_common_errors(result, generator, request, public):
    if "Error" not in result.get("components", {}).get("schemas", {}):
        return result
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            wanted = {
                "403": "Not signed in, or not allowed.",
                "503": "The database cannot be reached for a moment: try again after `retry_after` seconds "
                "(also in Retry-After).",
            }
            if operation.get("parameters") or operation.get("requestBody"):
                wanted["400"] = "Bad input: `field` names the input at fault."
            if operation.get("requestBody"):
                wanted["415"] = "The body is not in a media type this operation takes."
            if "{" in path:
                wanted["404"] = "No such object, or not one you may see."
            if method in WRITES:
                wanted["429"] = "Too many requests: try again after `retry_after` seconds (also in Retry-After)."
            for status, description in wanted.items():
                responses.setdefault(status, _error(description))
    return result
