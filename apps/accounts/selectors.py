from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from apps.nearby import geo
from apps.nearby.selectors import located_within

from .models import Resident


def residents_nearby(*, origin: geo.Point, radius_m: float, exclude: Resident | None = None) -> QuerySet:
    """Residents whose home area is within the radius; `distance_m` is to the area's centre and
    must be shown only through `geo.coarse_distance_m`."""
    qs = Resident.objects.filter(is_active=True, home_cell__isnull=False)
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return located_within(qs, origin=origin, radius_m=radius_m)


def origin_for(resident: Resident) -> geo.Point | None:
    return resident.point


def snap_near_me_now(*, lat: float, lng: float) -> geo.Point:
    """A one-off "near me now" position, snapped to a fine cell centre and never stored."""
    geo.validate_point(lat, lng)
    return geo.snap_to_cell_center(lat, lng, settings.JIEFANG_HOME_RESOLUTION + 1)
