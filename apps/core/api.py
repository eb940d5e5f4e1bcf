import functools

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import inline_serializer
from rest_framework import exceptions as drf_exceptions
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from apps.nearby.geo import InvalidLocation
from apps.nearby.selectors import InvalidCursor

from .errors import DomainError
from .ratelimit import RateLimited


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx (and the 503) answer: `detail` in words, `code`, and `field` when one
    input is at fault."""

    detail = serializers.CharField()
    code = serializers.CharField()
    field = serializers.CharField(required=False)
    retry_after = serializers.IntegerField(
        required=False,
        help_text="With 429 and 503: seconds to wait before trying again (also in the Retry-After header)",
    )


@functools.cache
def cursor_page(serializer_class) -> serializers.Serializer:
    """The schema of one page from a CursorPagination: `next` and `previous` links and `results`.
    (Give the view an operation_id ending in _list: drf-spectacular cannot tell it is a list.)"""
    name = serializer_class.__name__.removesuffix("Serializer")
    return inline_serializer(
        f"{name}CursorPage",
        {
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
        },
    )


# Keys of the body itself: a field of the same name ("code" of a residency letter) is named by
# `field` and `detail` instead of getting a key of its own.
RESERVED = frozenset(ErrorSerializer._declared_fields)


def _body(message, code, field=None, field_errors=None):
    """One shape for every 4xx: `detail`, `code`, `field`, and each field's messages under its name
    (as DRF's validation errors have them, so forms can show them beside their inputs)."""
    body = {"detail": str(message), "code": code}
    if field:
        body["field"] = field
    for name, messages in (field_errors or ({field: [str(message)]} if field else {})).items():
        if name not in RESERVED:
            body[name] = messages
    return body


def _first_error(data, path=()):
    """The first message of a (possibly nested) DRF error structure, and the top-level field it is on."""
    if isinstance(data, dict):
        for key, value in data.items():
            found = _first_error(value, (*path, key))
            if found:
                return found
        return None
    if isinstance(data, list):
        for item in data:
            found = _first_error(item, path)
            if found:
                return found
        return None
    field = str(path[0]) if path and path[0] != api_settings.NON_FIELD_ERRORS_KEY else None
    return field, str(data), getattr(data, "code", None)


def _validation_body(data) -> dict:
    found = _first_error(data) or (None, "Invalid input.", "invalid")
    field, message, code = found
    field_errors = data if isinstance(data, dict) else None
    return _body(message, code or "invalid", field, field_errors)


def exception_handler(exc, context):
    """DRF's handler, plus domain errors and model validation errors as 4xx JSON (never a 500), all
    in ErrorSerializer's shape."""
    if isinstance(exc, RateLimited):
        body = {**_body(exc.message, exc.code, exc.field), "retry_after": exc.retry_after}
        return Response(body, status=429, headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, DomainError):
        return Response(_body(exc.message, exc.code, exc.field), status=exc.status_code)
    if isinstance(exc, InvalidLocation):
        return Response(_body(exc, "invalid_location", "location"), status=400)
    if isinstance(exc, InvalidCursor):
        return Response(_body(exc, "invalid_cursor", "cursor"), status=400)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            errors = {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
            return Response(_validation_body(errors), status=400)
        return Response(_body(" ".join(exc.messages), "invalid"), status=400)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf_exceptions.ValidationError):
        response.data = _validation_body(response.data)
    elif isinstance(response.data, dict) and "code" not in response.data:
        # DRF's detail is an ErrorDetail carrying its code (not_found, permission_denied, ...).
        response.data["code"] = getattr(response.data.get("detail"), "code", None) or "error"
    return response
