"""The nearby engine: every "what is near" read in Jiefang goes through `located_within`."""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import BooleanField, F, FloatField, Func, Q, QuerySet

from . import geo


class InvalidCursor(ValueError):
    pass


class GreatCircleM(Func):
    """Haversine distance in metres from a fixed origin to a row's lat/lng, as one SQL expression.

    The same formula as a tree of Django's `Radians`, `Sin`, `Cos`, `Power`, `ASin` and `Sqrt`, and
    the same SQL on SQLite (built-in math functions) and PostgreSQL; but one node to compile instead
    of seventeen, which the nearby query compiles twice (SELECT and WHERE): the tree cost about 1 ms
    per query, as much as reading the index at 1 km (docs/benchmarks.md).
    """

    output_field = FloatField()
    arity = 2

    def __init__(self, origin: geo.Point, lat_field: str = "lat", lng_field: str = "lng"):
        super().__init__(F(lat_field), F(lng_field))
        self.origin = origin

    def as_sql(self, compiler, connection, **extra_context):
        lat, lat_params = compiler.compile(self.source_expressions[0])
        lng, lng_params = compiler.compile(self.source_expressions[1])
        phi0 = math.radians(self.origin.lat)
        sql = (
            f"(%s * ASIN(SQRT((POWER(SIN(((RADIANS({lat}) - %s) / 2)), 2)"
            f" + ((%s * COS(RADIANS({lat}))) * POWER(SIN(((RADIANS({lng}) - %s) / 2)), 2))))))"
        )
        params = (
            2 * geo.EARTH_RADIUS_M,
            *lat_params,
            phi0,
            math.cos(phi0),
            *lat_params,
            *lng_params,
            math.radians(self.origin.lng),
        )
        return sql, params


class InCover(Func):
    """The row's cell is one of the cover's and its point is in the circle's bounding box, as one SQL
    condition. The box's columns follow the cell in every cell index, so both databases test it on
    the index entry, before reading the row (docs/nearby.md).

    `cell_rN IN (%s, %s, …)` on SQLite; `cell_rN = ANY(%s::bigint[])` on PostgreSQL, which plans the
    same index scan (PostgreSQL turns an IN list into that array itself) but keeps the SQL text the
    same from one query to the next, so psycopg parses the query once instead of splitting a text
    of hundreds of placeholders each time. The cells are ints straight from h3: the ORM's
    per-value preparation of `cell_rN__in` cost about 0.3 ms at 1 km. On PostgreSQL the array goes
    as its text form (`Cover.array_literal`, made once per cached cover): psycopg adapts a Python
    list element by element, 0.25 ms for the 97 cells of a 200 m cover, 20 times the cost of
    quoting one string (docs/benchmarks.md).
    """

    output_field = BooleanField()
    arity = 3

    def __init__(self, cover: geo.Cover):
        super().__init__(F(cover.field), F("lat"), F("lng"))
        self.cover = cover

    def as_sql(self, compiler, connection, **extra_context):
        cells = self.cover.cells
        return self._sql(compiler, f"IN ({', '.join(['%s'] * len(cells))})", cells)

    def as_postgresql(self, compiler, connection, **extra_context):
        return self._sql(compiler, "= ANY(%s::bigint[])", (self.cover.array_literal,))

    def _sql(self, compiler, in_cells: str, cell_params):
        if not self.cover.cells:
            raise EmptyResultSet
        (cell, cell_p), (lat, lat_p), (lng, lng_p) = (compiler.compile(e) for e in self.source_expressions)
        box = self.cover.box
        sql = [f"{cell} {in_cells}", f"{lat} >= %s", f"{lat} <= %s"]
        params = [*cell_p, *cell_params, *lat_p, box.lat_min, *lat_p, box.lat_max]
        ranges = []
        for west, east in box.lng_ranges:
            ranges.append(f"{lng} >= %s AND {lng} <= %s")
            params += [*lng_p, west, *lng_p, east]
        if len(ranges) == 1:
            sql.append(ranges[0])
        elif ranges:
            sql.append("(" + " OR ".join(f"({r})" for r in ranges) + ")")
        return "(" + " AND ".join(sql) + ")", tuple(params)


def great_circle_m(origin: geo.Point, lat_field: str = "lat", lng_field: str = "lng"):
    """Haversine distance from the origin as an ORM expression (SQLite math functions or PostgreSQL)."""
    return GreatCircleM(origin, lat_field, lng_field)


def located_within(queryset: QuerySet, *, origin: geo.Point, radius_m: float) -> QuerySet:
    """Rows of a `Located` queryset within the radius, annotated `distance_m`, nearest first."""
    # one annotate, one filter, one order_by: each queryset step clones the whole query
    return (
        queryset.annotate(distance_m=great_circle_m(origin))
        .filter(InCover(geo.cover_circle(origin, radius_m)), distance_m__lte=radius_m)
        .order_by("distance_m", "pk")
    )


# From this radius on, `located_nearest` reads the nearest ids from the index alone first: there the
# circle holds many more rows than a page (docs/nearby.md, "The query", has the measurements).
NEAREST_IN_TWO_STEPS_FROM_M = 1000


def located_nearest(
    queryset: QuerySet, *, origin: geo.Point, radius_m: float, limit: int, after: tuple[float, int] | None = None
) -> QuerySet:
    """The first `limit` rows of `located_within` (those after `after`, a `(distance, id)`, when
    given), annotated `distance_m`: the same rows in the same order as slicing it. Evaluate it as it
    is; it is not for filtering further.

    Every fresh row in the circle must be measured to know which are nearest, but only `limit` of
    them are kept. For a large circle the query finds the nearest ids from the cell index alone (it
    holds the point and the id), then reads those rows by primary key, in one statement; read whole,
    every row in the circle came from the table (at 5 km on the benchmark city, 5,900 rows instead of
    50). For a small circle, where the rows are few, the one plain query is cheaper.
    """
    qs = located_within(queryset, origin=origin, radius_m=radius_m)
    if after is not None:
        distance, pk = after
        qs = qs.filter(Q(distance_m__gt=distance) | Q(distance_m=distance, pk__gt=pk))
    if radius_m < NEAREST_IN_TWO_STEPS_FROM_M:
        return qs[:limit]
    # The caller's filters are applied again to the few rows kept: cheap, and the outer query keeps
    # the caller's select_related, prefetch_related and deferred fields.
    return (
        queryset.filter(pk__in=qs.values("pk")[:limit])
        .annotate(distance_m=great_circle_m(origin))
        .order_by("distance_m", "pk")
    )


def located_in_cover(queryset: QuerySet, *, origin: geo.Point, radius_m: float) -> QuerySet:
    """The rows the index hands to `located_within` before the exact distance test (for measuring)."""
    return queryset.filter(InCover(geo.cover_circle(origin, radius_m)))


@dataclass
class NearbyPage:
    items: list[Any]
    next_cursor: str | None


def encode_cursor(key: float, pk: int) -> str:
    """An opaque keyset cursor: the last row's sort key (a distance, a feed rank) and its id."""
    raw = json.dumps([key, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_keyset(cursor: str) -> tuple[float, int]:
    """The (key, id) of a cursor of `encode_cursor`; anything else, or a key or id no row can have,
    is refused with InvalidCursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key, pk = json.loads(raw)
        key, pk = float(key), int(pk)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, OverflowError):
        raise InvalidCursor("cursor is not one this server gave out") from None
    if not math.isfinite(key) or not -(2**63) <= pk < 2**63:  # beyond any id a database holds
        raise InvalidCursor("cursor is not one this server gave out")
    return key, pk


def decode_cursor(cursor: str) -> tuple[float, int]:
    """The (distance, id) of a nearby page's cursor."""
    distance, pk = decode_keyset(cursor)
    if distance < 0:
        raise InvalidCursor("cursor is not one this server gave out")
    return distance, pk


def nearby_page(
    queryset: QuerySet, *, origin: geo.Point, radius_m: float, cursor: str | None = None, limit: int = 20
) -> NearbyPage:
    """One page of `located_within`, continued by an opaque keyset cursor on (distance, id)."""
    after = decode_cursor(cursor) if cursor else None
    rows = list(located_nearest(queryset, origin=origin, radius_m=radius_m, limit=limit + 1, after=after))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(last.distance_m, last.pk)
    return NearbyPage(items=rows, next_cursor=next_cursor)
