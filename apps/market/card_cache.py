"""The shared feed cards' cache, and what tells it that a neighbourhood changed.

A page of feed cards holds nothing personal, so it is rendered once and shared by everyone who would
see the same cards (apps/market/views.py). It stays right because every change that could alter a
card or the order of the cards marks the areas it happened in as changed: the market's services and
the signals of `apps/market/signals.py` call `stalls_touch` with the stalls concerned.
A cached page remembers the marks of the areas its circle overlaps as they were when it was built,
and is rebuilt as soon as one of them differs. So a new, edited, reserved or hidden stall shows at
the next look, and a neighbourhood where nothing happens is served from the cache for
`JIEFANG_FEED_CACHE_SECONDS` (the backstop for any write that goes around the services).

An area is the resolution-7 H3 cell (about 5 km²) above a stall's cells. H3's cells are not exactly
nested, so a stall marks the parents of its cells at every indexed resolution (almost always one
cell, near an edge two), and a page reads the parents of the cells of its cover: whichever
resolution the cover uses, the cell through which the page finds a stall has its parent among the
stall's marks.

Marks are written after the transaction commits (`transaction.on_commit`), and a page reads the
marks before it queries: a page built from data older than a mark always carries an older mark, so
it is rebuilt at the next look, never kept stale. A mark lost from the cache (evicted, or Redis
restarted) reads as a change too.
"""

from __future__ import annotations

import functools
import uuid

from django.core.cache import cache
from django.db import transaction
from h3.api import basic_int as h3i

from apps.nearby import geo

AREA_RESOLUTION = 7
# Longer than pages of cards are kept (a mark that expires reads as a change: a needless rebuild).
MARK_SECONDS = 24 * 3600
_CELL_FIELDS = tuple(geo.cell_field(res) for res in geo.RESOLUTIONS)


def _mark_key(area: int) -> str:
    return f"feed-area:{area:x}"


def areas_of(cells) -> set[int]:
    """The areas above a located thing's cells (its `cell_r8` ... `cell_r11` values)."""
    return {h3i.cell_to_parent(cell, AREA_RESOLUTION) for cell in cells if cell is not None}


def mark_keys_of_cells(cells) -> set[str]:
    """The marks a change to a thing in these cells writes."""
    return {_mark_key(area) for area in areas_of(cells)}


@functools.lru_cache(maxsize=1024)
def mark_keys_of_circle(origin: geo.Point, radius_m: float) -> tuple[str, ...]:
    """The marks a page of the feed circle reads: every area its cover overlaps (cached as the
    cover is)."""
    return tuple(sorted(mark_keys_of_cells(geo.cover_circle(origin, radius_m).cells)))


def stalls_touch(stalls) -> None:
    """Marks the areas of these stalls (instances, or a queryset of them) as changed, once the
    current transaction commits (at once outside one)."""
    if hasattr(stalls, "values_list"):
        rows = stalls.values_list(*_CELL_FIELDS)
    else:
        rows = [[getattr(stall, field) for field in _CELL_FIELDS] for stall in stalls]
    keys = set().union(*(mark_keys_of_cells(cells) for cells in rows))
    if keys:
        mark = uuid.uuid4().hex
        transaction.on_commit(lambda: cache.set_many(dict.fromkeys(keys, mark), MARK_SECONDS))


def cards_get(key: str, *, origin: geo.Point, radius_m: float) -> tuple[str | None, tuple]:
    """(the cached cards or None, the marks to build new ones with), in one round trip to the cache."""
    mark_keys = mark_keys_of_circle(origin, radius_m)
    found = cache.get_many([key, *mark_keys])
    marks = tuple(found.get(k) for k in mark_keys)
    kept = found.get(key)
    if kept is not None and kept[0] == marks:
        return kept[1], marks
    return None, marks


def cards_set(key: str, html: str, *, marks: tuple, seconds: int) -> None:
    if seconds > 0:
        cache.set(key, (marks, html), seconds)


def shop_touch(shop_id: int) -> None:
    """Marks where the shop's open stalls are: their cards show its name, badge, pledges and trust."""
    from .models import Stall

    stalls_touch(Stall.objects.filter(shop_id=shop_id, status=Stall.Status.OPEN))
