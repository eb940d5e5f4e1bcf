import math

import h3
import pytest

from apps.nearby import geo


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


@pytest.mark.parametrize("radius", [200, 499, 500, 1000, 1199, 1200, 2999, 3000, 5000])
def test_cover_resolution_follows_the_radius(radius):
    res = geo.cover_resolution(radius)
    edge = h3.average_hexagon_edge_length(res, "m")
    # fine enough that the cover stays close to the circle, coarse enough to keep the IN list short
    assert radius / edge >= 4.5
    assert len(geo.cover_circle(geo.Point(31.2, 121.4), radius).cells) < 1200


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
