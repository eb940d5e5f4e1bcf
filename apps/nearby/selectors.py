"""The nearby engine: every "what is near" read in Jiefang goes through `located_within`."""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from typing import Any

from django.db.models import F, FloatField, Q, QuerySet, Value
from django.db.models.functions import ASin, Cos, Power, Radians, Sin, Sqrt

from . import geo


class InvalidCursor(ValueError):
    pass


def great_circle_m(origin: geo.Point, lat_field: str = "lat", lng_field: str = "lng"):
    """Haversine distance from the origin as an ORM expression (SQLite math functions or PostgreSQL)."""
    phi0 = math.radians(origin.lat)
    lat = Radians(F(lat_field))
    dphi = lat - Value(phi0, output_field=FloatField())
    dlmb = Radians(F(lng_field)) - Value(math.radians(origin.lng), output_field=FloatField())
    h = Power(Sin(dphi / 2), 2) + Value(math.cos(phi0), output_field=FloatField()) * Cos(lat) * Power(Sin(dlmb / 2), 2)
    return Value(2 * geo.EARTH_RADIUS_M, output_field=FloatField()) * ASin(Sqrt(h))


def located_within(queryset: QuerySet, *, origin: geo.Point, radius_m: float) -> QuerySet:
    """Rows of a `Located` queryset within the radius, annotated `distance_m`, nearest first."""
    cover = geo.cover_circle(origin, radius_m)
    return (
        queryset.filter(**{f"{cover.field}__in": cover.cells})
        .annotate(distance_m=great_circle_m(origin))
        .filter(distance_m__lte=radius_m)
        .order_by("distance_m", "pk")
    )


def located_in_cover(queryset: QuerySet, *, origin: geo.Point, radius_m: float) -> QuerySet:
    """The rows the index hands to `located_within` before the exact distance test (for measuring)."""
    cover = geo.cover_circle(origin, radius_m)
    return queryset.filter(**{f"{cover.field}__in": cover.cells})


@dataclass
class NearbyPage:
    items: list[Any]
    next_cursor: str | None


def encode_cursor(distance: float, pk: int) -> str:
    raw = json.dumps([distance, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        distance, pk = json.loads(raw)
        distance, pk = float(distance), int(pk)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise InvalidCursor("cursor is not one this server gave out") from None
    if not math.isfinite(distance) or distance < 0:
        raise InvalidCursor("cursor is not one this server gave out")
    return distance, pk


def nearby_page(
    queryset: QuerySet, *, origin: geo.Point, radius_m: float, cursor: str | None = None, limit: int = 20
) -> NearbyPage:
    """One page of `located_within`, continued by an opaque keyset cursor on (distance, id)."""
    qs = located_within(queryset, origin=origin, radius_m=radius_m)
    if cursor:
        distance, pk = decode_cursor(cursor)
        qs = qs.filter(Q(distance_m__gt=distance) | Q(distance_m=distance, pk__gt=pk))
    rows = list(qs[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(last.distance_m, last.pk)
    return NearbyPage(items=rows, next_cursor=next_cursor)
