from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.nearby.geo import InvalidLocation
from apps.nearby.selectors import InvalidCursor

from .errors import DomainError
from .ratelimit import RateLimited


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx answer: `detail` in words, `code`, and `field` when one input is at fault."""

    detail = serializers.CharField()
    code = serializers.CharField()
    field = serializers.CharField(required=False)
    retry_after = serializers.IntegerField(
        required=False, help_text="With 429: seconds to wait before trying again (also in the Retry-After header)"
    )


def _body(message, code, field=None):
    body = {"detail": str(message), "code": code}
    if field:
        body["field"] = field
        body[field] = [str(message)]
    return body


def exception_handler(exc, context):
    """DRF's handler, plus domain errors and model validation errors as 4xx JSON (never a 500)."""
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
            return Response({k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}, 400)
        return Response(_body(" ".join(exc.messages), "invalid"), status=400)
    return drf_exception_handler(exc, context)
