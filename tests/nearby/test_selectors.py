"""The nearby engine against a brute-force great-circle oracle."""

import math
import random

import h3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.accounts.models import Resident
from apps.nearby import geo
from apps.nearby.selectors import (
    NEAREST_IN_TWO_STEPS_FROM_M,
    InvalidCursor,
    located_in_cover,
    located_nearest,
    located_within,
    nearby_page,
)

pytestmark = pytest.mark.django_db


def destination(origin: geo.Point, bearing_deg: float, distance_m: float) -> geo.Point:
    phi1, lmb1 = math.radians(origin.lat), math.radians(origin.lng)
    theta, delta = math.radians(bearing_deg), distance_m / geo.EARTH_RADIUS_M
    phi2 = math.asin(math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(theta))
    lmb2 = lmb1 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi1), math.cos(delta) - math.sin(phi1) * math.sin(phi2)
    )
    lng = (math.degrees(lmb2) + 540) % 360 - 180
    return geo.Point(max(-90.0, min(90.0, math.degrees(phi2))), lng)


def place(points):
    """Located rows at exact points (the engine is generic; residents are the located model at hand)."""
    rows = []
    for i, p in enumerate(points):
        r = Resident(username=f"p{i}", email=f"p{i}@example.org", display_name=f"p{i}")
        r.place_at(p)
        rows.append(r)
    return Resident.objects.bulk_create(rows)


def edge_points(origin: geo.Point, resolution: int, count: int) -> list[geo.Point]:
    """Cell vertices and edge midpoints near the origin: the points a sloppy cover would miss."""
    out = []
    for cell in h3.grid_disk(h3.latlng_to_cell(origin.lat, origin.lng, resolution), 3)[:count]:
        boundary = h3.cell_to_boundary(cell)
        for (a_lat, a_lng), (b_lat, b_lng) in zip(boundary, boundary[1:] + boundary[:1], strict=True):
            out.append(geo.Point(a_lat, a_lng))
            if abs(a_lng - b_lng) < 180:
                out.append(geo.Point((a_lat + b_lat) / 2, (a_lng + b_lng) / 2))
    return out


origins = st.one_of(
    st.builds(geo.Point, st.floats(-60, 60), st.floats(-180, 180)),
    st.builds(geo.Point, st.floats(-85, 85), st.sampled_from([-179.9999, 179.9999, 180.0, -180.0])),  # antimeridian
    st.builds(geo.Point, st.sampled_from([-85.0, -80.0, 75.0, 84.9]), st.floats(-180, 180)),  # high latitudes
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    origin=origins,
    radius=st.integers(200, 5000),
    offsets=st.lists(st.tuples(st.floats(0, 360), st.floats(0, 1.6)), min_size=1, max_size=60),
    with_edges=st.booleans(),
)
def test_nearby_matches_the_brute_force_oracle(origin, radius, offsets, with_edges):
    Resident.objects.all().delete()
    points = [destination(origin, b, f * radius) for b, f in offsets]
    if with_edges:
        points += edge_points(origin, geo.cover_resolution(radius), 7)
    rows = place(points)

    oracle = sorted(
        ((geo.distance_m(origin, r.point), r.pk) for r in rows if geo.distance_m(origin, r.point) <= radius),
        key=lambda t: (t[0], t[1]),
    )
    # points within a micrometre of the rim may fall either way in floating point: leave them out
    ambiguous = {pk for d, pk in ((geo.distance_m(origin, r.point), r.pk) for r in rows) if abs(d - radius) < 1e-6}
    got = [(r.distance_m, r.pk) for r in located_within(Resident.objects.all(), origin=origin, radius_m=radius)]

    assert [pk for _, pk in got if pk not in ambiguous] == [pk for _, pk in oracle if pk not in ambiguous]
    expected = {pk: d for d, pk in oracle}
    for d, pk in got:
        if pk in expected:
            assert abs(d - expected[pk]) < 1.0
    # the nearest few, in one query or two steps depending on the radius: the head of the same answer
    nearest = located_nearest(Resident.objects.all(), origin=origin, radius_m=radius, limit=10)
    assert [(r.distance_m, r.pk) for r in nearest] == got[:10]


@pytest.mark.parametrize("radius", [200, 500, 1000, 2000, 5000])
def test_rows_read_stay_under_one_and_a_half_times_the_answer(radius):
    rng = random.Random(radius)
    origin = geo.Point(31.2155, 121.4566)
    # about 2,000 points spread evenly over a square 1.6 radii around the origin
    side = 1.6 * radius
    points = [destination(origin, rng.uniform(0, 360), side * math.sqrt(rng.random())) for _ in range(2000)]
    place(points)
    read = located_in_cover(Resident.objects.all(), origin=origin, radius_m=radius).count()
    answered = located_within(Resident.objects.all(), origin=origin, radius_m=radius).count()
    assert answered > 300
    assert read / answered < 1.5, (read, answered)


def test_cursor_pages_walk_the_whole_answer_once_in_order():
    origin = geo.Point(31.2155, 121.4566)
    rng = random.Random(7)
    place([destination(origin, rng.uniform(0, 360), rng.uniform(0, 1200)) for _ in range(95)])
    seen, cursor, pages = [], None, 0
    while True:
        page = nearby_page(Resident.objects.all(), origin=origin, radius_m=1000, cursor=cursor, limit=20)
        seen += [(r.distance_m, r.pk) for r in page.items]
        pages += 1
        cursor = page.next_cursor
        if not cursor:
            break
    full = [(r.distance_m, r.pk) for r in located_within(Resident.objects.all(), origin=origin, radius_m=1000)]
    assert seen == full
    assert pages == math.ceil(len(full) / 20) or (len(full) % 20 == 0 and pages == len(full) // 20)


def test_equal_distances_are_ordered_by_id_across_pages():
    origin = geo.Point(31.2155, 121.4566)
    spot = destination(origin, 45, 300)
    place([spot] * 5)
    first = nearby_page(Resident.objects.all(), origin=origin, radius_m=500, limit=2)
    second = nearby_page(Resident.objects.all(), origin=origin, radius_m=500, cursor=first.next_cursor, limit=2)
    third = nearby_page(Resident.objects.all(), origin=origin, radius_m=500, cursor=second.next_cursor, limit=2)
    ids = [r.pk for r in first.items + second.items + third.items]
    assert ids == sorted(ids) and len(ids) == 5
    assert third.next_cursor is None


@pytest.mark.parametrize("cursor", ["garbage", "W10", "WyJ4IiwxXQ", "Wy0xLDFd", "!!!!"])
def test_bad_cursors_are_refused(cursor):
    with pytest.raises(InvalidCursor):
        nearby_page(Resident.objects.all(), origin=geo.Point(0, 0), radius_m=500, cursor=cursor)


def test_nearby_uses_an_index(django_assert_max_num_queries):
    from django.db import connection

    origin = geo.Point(31.2155, 121.4566)
    qs = located_within(Resident.objects.all(), origin=origin, radius_m=1000)
    plan = qs.explain()
    if connection.vendor == "sqlite":
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
    with django_assert_max_num_queries(1):
        list(qs[:50])


@pytest.mark.parametrize("radius", [NEAREST_IN_TWO_STEPS_FROM_M - 1, NEAREST_IN_TWO_STEPS_FROM_M, 3000])
def test_nearest_keeps_the_callers_filters_and_cursor_on_both_query_shapes(radius):
    origin = geo.Point(31.2155, 121.4566)
    rng = random.Random(radius)
    rows = place([destination(origin, rng.uniform(0, 360), rng.uniform(0, 1.2 * radius)) for _ in range(120)])
    hidden = {r.pk for r in rows[::3]}
    qs = Resident.objects.exclude(pk__in=hidden)
    full = [(r.distance_m, r.pk) for r in located_within(qs, origin=origin, radius_m=radius)]
    assert len(full) > 30 and not hidden & {pk for _, pk in full}
    first = list(located_nearest(qs, origin=origin, radius_m=radius, limit=15))
    assert [(r.distance_m, r.pk) for r in first] == full[:15]
    after = (first[-1].distance_m, first[-1].pk)
    rest = located_nearest(qs, origin=origin, radius_m=radius, limit=15, after=after)
    assert [(r.distance_m, r.pk) for r in rest] == full[15:30]
