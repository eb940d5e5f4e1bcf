"""Moderators' areas: coarse H3 cells (settings.JIEFANG_MODERATION_AREA_RESOLUTION, 7: the same
area as a chat neighbourhood room), each the parent of residents' home cells and shops' points.

An area moderator sees and acts on reports, objects and people of their areas only; a superuser
on everything. Every admin queryset and every service goes through `moderator_areas`; located
models are scoped by their indexed `cell_r8` column (an area at resolution 7 is exactly its seven
children at resolution 8), so scoping needs no new column on the stalls, shops or residents.
"""

from __future__ import annotations

from functools import lru_cache

import h3
from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from apps.core.errors import NotAllowed
from apps.nearby import geo

SCOPE_RESOLUTION = 8


class OutsideArea(NotAllowed):
    code = "outside_area"


class NotModerator(NotAllowed):
    code = "not_moderator"


def resolution() -> int:
    return settings.JIEFANG_MODERATION_AREA_RESOLUTION


def area_of_point(lat: float | None, lng: float | None) -> int | None:
    if lat is None or lng is None:
        return None
    return geo.cell_of(lat, lng, resolution())


def area_of_cell(cell: int | None) -> int | None:
    """The area holding a finer cell (a home cell, a cell_r8 column)."""
    if cell is None:
        return None
    text = h3.int_to_str(cell)
    if h3.get_resolution(text) < resolution():
        return None
    return h3.str_to_int(h3.cell_to_parent(text, resolution()))


def area_parse(value: str) -> int:
    """An area from its H3 index as written in hex ("87309a...") or as an integer."""
    text = (value or "").strip().lower()
    try:
        cell = int(text, 16) if not text.isdigit() else int(text)
    except ValueError:
        cell = -1
    if cell < 0 or not geo.is_valid_cell(cell, resolution()):
        raise ValueError(_("Give an H3 cell of resolution %(r)d, for example 87309a1a3ffffff.") % {"r": resolution()})
    return cell


def area_label(cell: int | None) -> str:
    return "—" if cell is None else f"{cell:x}"


@lru_cache(maxsize=4096)
def _children(cell: int) -> tuple[int, ...]:
    return tuple(h3.str_to_int(c) for c in h3.cell_to_children(h3.int_to_str(cell), SCOPE_RESOLUTION))


def scope_cells(areas) -> list[int]:
    """The resolution-8 cells that make up the areas: what `cell_r8__in` filters on."""
    return [child for area in areas for child in _children(area)]


# --- Who moderates where -----------------------------------------------------------------------


def is_moderator(user) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm("moderation.moderate")
    )


def moderator_areas(user) -> frozenset[int] | None:
    """The areas a moderator covers; None means everywhere (superusers). Cached on the user object
    for one request."""
    if user.is_superuser:
        return None
    cached = getattr(user, "_moderation_areas", None)
    if cached is None:
        from .models import ModeratorArea

        cached = frozenset(ModeratorArea.objects.filter(moderator=user).values_list("cell", flat=True))
        user._moderation_areas = cached
    return cached


def covers(user, area: int | None) -> bool:
    areas = moderator_areas(user)
    return areas is None or (area is not None and area in areas)


def check_moderator(user) -> None:
    if not is_moderator(user):
        raise NotModerator(_("Only moderators may do this."))


def check_area(user, area: int | None) -> None:
    """A moderator acting outside their areas is refused, whatever the interface."""
    check_moderator(user)
    if not covers(user, area):
        raise OutsideArea(_("This is outside the areas you moderate."))


def scope_by_area(qs: QuerySet, user, field: str = "area") -> QuerySet:
    """Rows carrying an `area` column, limited to the user's areas."""
    areas = moderator_areas(user)
    return qs if areas is None else qs.filter(**{f"{field}__in": areas})


def scope_located(qs: QuerySet, user, prefix: str = "") -> QuerySet:
    """Located rows (stalls, shops, residents' homes) whose point lies in the user's areas."""
    areas = moderator_areas(user)
    if areas is None:
        return qs
    return qs.filter(**{f"{prefix}{geo.cell_field(SCOPE_RESOLUTION)}__in": scope_cells(areas)})


def located_in_scope(user, obj) -> bool:
    """The same test as `scope_located`, on one object already loaded."""
    areas = moderator_areas(user)
    if areas is None:
        return True
    return area_of_cell(getattr(obj, geo.cell_field(SCOPE_RESOLUTION), None)) in areas


def check_located(user, obj, message: str | None = None) -> None:
    """For other apps' moderator services (shop verification, residency decisions, letters, pledge
    claims): the object must lie in the user's areas. Their own permission checks stay theirs."""
    if not located_in_scope(user, obj):
        raise OutsideArea(message or _("This is outside the areas you moderate."))


def located_q(user, prefix: str = "") -> Q:
    areas = moderator_areas(user)
    if areas is None:
        return Q()
    return Q(**{f"{prefix}{geo.cell_field(SCOPE_RESOLUTION)}__in": scope_cells(areas)})
