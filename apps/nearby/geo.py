"""Pure geometry of the nearby engine: H3 cells, circle covers and great-circle distances.

Every located thing stores its point and the H3 cells (resolutions 8 to 11) that contain it, each
an integer column, those of resolutions 8 and 9 indexed. A nearby query picks the resolution that
suits its radius, lists the cells that overlap the circle (the cover) and the circle's bounding box,
filters on `cell IN (cover)` and the box through the index, then keeps the rows whose exact
great-circle distance is within the radius. The same SQL runs on SQLite and PostgreSQL. The cells
are coarse, a few to compute; the box keeps the rows read near 1.3 times those in the circle
(docs/nearby.md has the figures).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import h3
from h3.api import basic_int as h3i

EARTH_RADIUS_M = 6_371_008.8
RESOLUTIONS = (8, 9, 10, 11)

# (radius below which, resolution). The cells only take the index to the circle's neighbourhood:
# the circle's bounding box, tested in the index on its lat/lng columns, cuts the rows handed to the
# exact distance down to about 1.3 times those inside (4/π for a box around a circle). So the cells
# are coarse, few to compute, to list and to plan for: a handful up to 1 km, about 170 at 5 km, where
# resolution 8 is still the coarsest the feed's card cache takes (docs/nearby.md has the figures).
_COVER_RESOLUTION = ((500, 9), (math.inf, 8))
# The resolutions a cover may use: the ones with an index (`apps.nearby.models.located_indexes`).
COVER_RESOLUTIONS = tuple(sorted({res for _, res in _COVER_RESOLUTION}))


class InvalidLocation(ValueError):
    pass


@dataclass(frozen=True)
class Point:
    lat: float
    lng: float

    def __post_init__(self):
        validate_point(self.lat, self.lng)
        # Absurdly small coordinates (1e-300) would underflow in PostgreSQL's float arithmetic,
        # which raises where SQLite rounds to zero; anything under a nanodegree is zero.
        for name in ("lat", "lng"):
            value = float(getattr(self, name))
            object.__setattr__(self, name, 0.0 if abs(value) < 1e-9 else value)


@dataclass(frozen=True)
class Box:
    """The latitudes and longitudes a circle spans: `lng_ranges` holds one (west, east) range, two
    where the circle crosses the antimeridian, none (every longitude) where it reaches a pole."""

    lat_min: float
    lat_max: float
    lng_ranges: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Cover:
    resolution: int
    cells: tuple[int, ...]
    box: Box

    @property
    def field(self) -> str:
        return cell_field(self.resolution)

    @functools.cached_property
    def array_literal(self) -> str:
        """The cells as a PostgreSQL array in its text form, `{1,2,3}`."""
        return "{" + ",".join(map(str, self.cells)) + "}"


def validate_point(lat, lng) -> None:
    for name, value, bound in (("lat", lat, 90), ("lng", lng, 180)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidLocation(f"{name} must be a number")
        if not math.isfinite(value) or not -bound <= value <= bound:
            raise InvalidLocation(f"{name} must be between -{bound} and {bound}")


def cell_field(resolution: int) -> str:
    return f"cell_r{resolution}"


def cell_of(lat: float, lng: float, resolution: int) -> int:
    return h3.str_to_int(h3.latlng_to_cell(lat, lng, resolution))


def cells_of(lat: float, lng: float) -> dict[str, int]:
    """The indexed cell columns of a point, ready to set on a located model."""
    return {cell_field(res): cell_of(lat, lng, res) for res in RESOLUTIONS}


def cell_center(cell: int) -> Point:
    lat, lng = h3.cell_to_latlng(h3.int_to_str(cell))
    return Point(lat, lng)


def cell_boundary(cell: int) -> list[tuple[float, float]]:
    """The cell's outline as (lat, lng) pairs: what a map draws as the area."""
    return [(round(lat, 6), round(lng, 6)) for lat, lng in h3.cell_to_boundary(h3.int_to_str(cell))]


def is_valid_cell(cell: int, resolution: int) -> bool:
    try:
        text = h3.int_to_str(cell)
    except (ValueError, TypeError, OverflowError):
        return False
    return h3.is_valid_cell(text) and h3.get_resolution(text) == resolution


def distance_m(a: Point, b: Point) -> float:
    """Haversine great-circle distance, the same formula the database evaluates."""
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi = phi2 - phi1
    dlmb = math.radians(b.lng) - math.radians(a.lng)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))


def _distance_to_outline(origin: Point, cell: int) -> float:
    """Shortest distance from the origin to the cell's outline, in the azimuthal equidistant
    projection around the origin: exact distance from the origin at any latitude and across the
    antimeridian, and close to true for short cell edges.

    On bare floats: the cover calls this for the few cells near the rim, and a validated `Point`
    per vertex cost more than the math (a fifth of the cover's time at 200 m)."""
    sin, cos, radians = math.sin, math.cos, math.radians
    phi1, lmb1 = radians(origin.lat), radians(origin.lng)
    sin1, cos1 = sin(phi1), cos(phi1)
    pts = []
    for lat, lng in h3i.cell_to_boundary(cell):
        phi2 = radians(lat)
        cos2, sin2 = cos(phi2), sin(phi2)
        # the haversine distance of `distance_m`, and the initial bearing
        h = sin((phi2 - phi1) / 2) ** 2 + cos1 * cos2 * sin((radians(lng) - lmb1) / 2) ** 2
        d = 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))
        dlmb = radians(lng - origin.lng)
        t = math.atan2(sin(dlmb) * cos2, cos1 * sin2 - sin1 * cos2 * cos(dlmb))
        pts.append((d * sin(t), d * cos(t)))
    best = math.inf
    for (x1, y1), (x2, y2) in zip(pts, pts[1:] + pts[:1], strict=True):
        dx, dy = x2 - x1, y2 - y1
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(x1 * dx + y1 * dy) / length2))
        best = min(best, math.hypot(x1 + t * dx, y1 + t * dy))
    return best


def _reach_m(radius_m: float) -> float:
    """The radius widened by a metre and a little more, so that rounding never leaves a row out."""
    return radius_m + 1.0 + radius_m * 1e-4


def bounding_box(origin: Point, radius_m: float) -> Box:
    """The latitudes and longitudes of the spherical cap within `radius_m` of the origin (the
    distance the database measures), widened as the cover is (`_reach_m`)."""
    d = _reach_m(radius_m) / EARTH_RADIUS_M  # as an angle
    dlat = math.degrees(d)
    lat_min, lat_max = origin.lat - dlat, origin.lat + dlat
    if lat_min <= -90 or lat_max >= 90:
        return Box(max(lat_min, -90.0), min(lat_max, 90.0), ())
    # the cap's widest longitude, where its edge runs due north-south (under 90°: no pole is inside)
    dlng = math.degrees(math.asin(min(1.0, math.sin(d) / math.cos(math.radians(origin.lat)))))
    west, east = origin.lng - dlng, origin.lng + dlng
    if west < -180:
        return Box(lat_min, lat_max, ((west + 360, 180.0), (-180.0, east)))
    if east > 180:
        return Box(lat_min, lat_max, ((west, 180.0), (-180.0, east - 360)))
    return Box(lat_min, lat_max, ((west, east),))


def cover_resolution(radius_m: float) -> int:
    return next(res for limit, res in _COVER_RESOLUTION if radius_m < limit)


# Largest centre-to-vertex distance of any cell at a resolution, with room to spare (pentagons and
# the most distorted hexagons are about 1.3 times the average edge).
def _circumradius_m(resolution: int) -> float:
    return 1.5 * h3.average_hexagon_edge_length(resolution, "m")


def _haversine_h(meters: float) -> float:
    """The haversine term `h` of a distance: comparing `h` saves an asin and a sqrt per cell."""
    return math.sin(min(math.pi / 2, meters / (2 * EARTH_RADIUS_M))) ** 2


@functools.lru_cache(maxsize=1024)
def cover_circle(origin: Point, radius_m: float, resolution: int | None = None) -> Cover:
    """The cells of the chosen resolution (`cover_resolution`, unless given) that overlap the circle.

    The grid is walked ring by ring outward from the origin's cell, and the walk stops at the first
    ring with no overlapping cell: the cells that overlap a circle form a connected patch (a straight
    line from the centre to any point of the circle crosses only overlapping cells, each a neighbour of
    the last), so no farther ring can hold one. The first rings lie inside the circle whatever the
    cells' shapes and are taken whole. Each further cell is judged by its centre when that settles it,
    else by its vertices, and only in a thin band by its exact outline. A small tolerance keeps every
    test conservative: a cell may be read needlessly, never missed.

    Cached: residents ask from their home cell's centre, so the same origins come back.
    """
    res = cover_resolution(radius_m) if resolution is None else resolution
    circum = _circumradius_m(res)
    edge = h3.average_hexagon_edge_length(res, "m")
    reach = _reach_m(radius_m)
    # The haversine term h = sin²(Δφ/2) + cos φ0 cos φ sin²(Δλ/2), written out inline below: this
    # loop runs for every cell near the circle, and a function call per cell costs as much as the math.
    rad = math.pi / 180
    half_phi0, half_lmb0 = math.radians(origin.lat) / 2, math.radians(origin.lng) / 2
    cos0 = math.cos(math.radians(origin.lat))
    sin, cos, latlng_of, boundary_of = math.sin, math.cos, h3i.cell_to_latlng, h3i.cell_to_boundary

    inside_h = _haversine_h(radius_m)
    # A centre within an inradius of the circle puts part of a cell of the usual shape inside; taking
    # an odd distorted cell this way costs reading it, never a missed row, and spares the vertex test
    # of most cells near the rim.
    overlap_h = _haversine_h(radius_m + 0.8 * edge)
    beyond_h = _haversine_h(reach + circum)  # a centre this far leaves the whole cell outside
    # An edge is at most 2 circumradii long, so between two vertices farther than `vertex_clear`
    # it dips no closer than sqrt(vertex_clear² - circum²) = reach.
    clear_h = _haversine_h(math.sqrt(reach * reach + circum * circum))

    origin_cell = h3i.latlng_to_cell(origin.lat, origin.lng, res)
    # Neighbours' centres are at most two circumradii apart (both within one of a shared edge), so
    # the centres of ring k are within (2k + 1) circumradii of the origin: inside the circle up to
    # ring `whole`.
    whole = max(0, int((radius_m / circum - 1) / 2))
    cells = list(h3i.grid_disk(origin_cell, whole))
    # The previous fixed disk, proven wide enough (each ring moves out by at least one average edge),
    # bounds the walk; the walk ends well before it.
    for k in range(whole + 1, math.ceil((radius_m + circum) / edge) + 2):
        touched = False
        for cell in h3i.grid_ring(origin_cell, k):
            lat, lng = latlng_of(cell)
            a, b = sin(lat * rad / 2 - half_phi0), sin(lng * rad / 2 - half_lmb0)
            h = a * a + cos0 * cos(lat * rad) * b * b
            if h > beyond_h:
                continue
            if h > overlap_h:
                # the centre is well outside: overlapping if a vertex is inside, else decided by the edges
                nearest = math.inf
                for lat, lng in boundary_of(cell):
                    a, b = sin(lat * rad / 2 - half_phi0), sin(lng * rad / 2 - half_lmb0)
                    h = a * a + cos0 * cos(lat * rad) * b * b
                    if h <= inside_h:
                        break
                    nearest = min(nearest, h)
                else:
                    if nearest > clear_h or _distance_to_outline(origin, cell) > reach:
                        continue
            cells.append(cell)
            touched = True
        if not touched:
            break
    return Cover(resolution=res, cells=tuple(sorted(cells)), box=bounding_box(origin, radius_m))


def snap_to_cell_center(lat: float, lng: float, resolution: int) -> Point:
    """Where a point is kept when only its area may be kept: the centre of its cell."""
    return cell_center(cell_of(lat, lng, resolution))


# Steps in which a distance to a resident (or anything placed only by its area) is shown.
COARSE_STEPS_M = (250, 500, 1000, 1500, 2000, 3000, 5000, 10_000)


def coarse_distance_m(meters: float) -> int:
    """Rounds a distance up to a coarse step, so repeated queries cannot pin a home down."""
    for step in COARSE_STEPS_M:
        if meters <= step:
            return step
    return int(math.ceil(meters / 5000.0) * 5000)
