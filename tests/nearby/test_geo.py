import math
import random

import h3
import pytest

from apps.nearby import geo
from tests.nearby.test_selectors import destination


@pytest.mark.parametrize(
    ("lat", "lng"),
    [(91, 0), (-90.0001, 0), (0, 180.5), (0, -181), (float("nan"), 0), (0, float("inf")), ("31", 121), (True, 1)],
)
def test_invalid_points_are_refused(lat, lng):
    with pytest.raises(geo.InvalidLocation):
        geo.Point(lat, lng)


def test_cells_of_a_point_nest_in_the_grid():
    cells = geo.cells_of(31.2155, 121.4566)
    assert set(cells) == {"cell_r8", "cell_r9", "cell_r10", "cell_r11"}
    for res in geo.RESOLUTIONS:
        assert h3.get_resolution(h3.int_to_str(cells[f"cell_r{res}"])) == res


def test_distance_matches_a_known_value():
    # People's Square to the Bund, Shanghai: about 1.77 km.
    d = geo.distance_m(geo.Point(31.2304, 121.4737), geo.Point(31.2400, 121.4900))
    assert 1800 < d < 1900


def test_distance_across_the_antimeridian_is_short():
    assert geo.distance_m(geo.Point(0, 179.999), geo.Point(0, -179.999)) < 250


@pytest.mark.parametrize(
    ("radius", "most_cells"), [(200, 12), (499, 40), (500, 12), (1000, 20), (3000, 80), (5000, 200)]
)
def test_cover_is_a_few_coarse_cells(radius, most_cells):
    # the bounding box, not the cells, keeps the rows read close to the circle (test_selectors.py):
    # the cells are coarse, so that the cover is cheap to compute and to plan for
    cover = geo.cover_circle(geo.Point(31.2, 121.4), radius)
    assert cover.resolution in geo.COVER_RESOLUTIONS
    assert h3.average_hexagon_edge_length(cover.resolution, "m") * 2.5 >= radius or cover.resolution == 8
    assert len(cover.cells) <= most_cells


@pytest.mark.parametrize(
    ("origin", "radius"),
    [
        (geo.Point(31.2, 121.4), 1000),
        (geo.Point(0.0, 179.995), 2000),  # across the antimeridian
        (geo.Point(-0.3, -179.999), 5000),
        (geo.Point(89.99, 40.0), 2000),  # over the pole
        (geo.Point(-89.995, -120.0), 200),
        (geo.Point(71.0, 10.0), 5000),  # high latitude: the box is wide in longitude
    ],
)
def test_bounding_box_holds_the_whole_circle(origin, radius):
    box = geo.bounding_box(origin, radius)
    rng = random.Random(radius)
    for _ in range(2000):
        point = destination(origin, rng.uniform(0, 360), radius * math.sqrt(rng.random()))
        assert box.lat_min <= point.lat <= box.lat_max
        if box.lng_ranges:
            assert any(west <= point.lng <= east for west, east in box.lng_ranges), (point, box)
    # and no wider than needed: a point just outside the circle due north, south, east or west
    for bearing in (0, 90, 180, 270):
        point = destination(origin, bearing, radius * 1.01 + 2)
        inside_lat = box.lat_min <= point.lat <= box.lat_max
        inside_lng = not box.lng_ranges or any(west <= point.lng <= east for west, east in box.lng_ranges)
        if abs(origin.lat) < 80:
            assert not (inside_lat and inside_lng), (bearing, point, box)


def test_cover_contains_the_origin_cell_and_is_within_reach():
    origin = geo.Point(31.2155, 121.4566)
    cover = geo.cover_circle(origin, 1000)
    assert geo.cell_of(origin.lat, origin.lng, cover.resolution) in cover.cells
    for cell in cover.cells:
        assert geo.distance_m(origin, geo.cell_center(cell)) < 1000 + 2 * h3.average_hexagon_edge_length(
            cover.resolution, "m"
        )


def test_coarse_distance_rounds_up_to_steps():
    assert geo.coarse_distance_m(1) == 250
    assert geo.coarse_distance_m(251) == 500
    assert geo.coarse_distance_m(999.9) == 1000
    assert geo.coarse_distance_m(4100) == 5000
    assert geo.coarse_distance_m(12_000) == 15_000


def test_snap_keeps_only_the_cell_centre():
    snapped = geo.snap_to_cell_center(31.21551234, 121.45661234, 9)
    cell = geo.cell_of(31.21551234, 121.45661234, 9)
    assert snapped == geo.cell_center(cell)
    assert (snapped.lat, snapped.lng) != (31.21551234, 121.45661234)


def test_cell_validity():
    cell = geo.cell_of(31.2, 121.4, 9)
    assert geo.is_valid_cell(cell, 9)
    assert not geo.is_valid_cell(cell, 10)
    assert not geo.is_valid_cell(12345, 9)
    assert not geo.is_valid_cell(-1, 9)


def test_cover_tolerates_the_pole_region():
    cover = geo.cover_circle(geo.Point(85, 10), 1000)
    assert cover.cells
    assert math.isfinite(geo.distance_m(geo.Point(85, 10), geo.cell_center(cover.cells[0])))
