from django.db import models

from . import geo


class Located(models.Model):
    """A thing on the map. `lat`/`lng` is the point the nearby engine measures from.

    For public places (shops and their stalls) it is the exact point. For residents and their own
    posts it is the centre of their home cell: the exact point is never stored.
    """

    lat = models.FloatField(null=True, blank=True, editable=False)
    lng = models.FloatField(null=True, blank=True, editable=False)
    cell_r8 = models.BigIntegerField(null=True, blank=True, editable=False)
    cell_r9 = models.BigIntegerField(null=True, blank=True, editable=False)
    cell_r10 = models.BigIntegerField(null=True, blank=True, editable=False)
    cell_r11 = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    def place_at(self, point: geo.Point) -> None:
        """Sets the point and its cells together; services call this, nothing else writes them."""
        self.lat, self.lng = point.lat, point.lng
        for field, cell in geo.cells_of(point.lat, point.lng).items():
            setattr(self, field, cell)

    def clear_place(self) -> None:
        self.lat = self.lng = None
        for res in geo.RESOLUTIONS:
            setattr(self, geo.cell_field(res), None)

    @property
    def point(self) -> geo.Point | None:
        return None if self.lat is None else geo.Point(self.lat, self.lng)


def located_indexes(prefix: str, *then: str, carrying: tuple[str, ...] = ()) -> list[models.Index]:
    """One index per resolution a cover uses (`geo.COVER_RESOLUTIONS`): (cell, *then, lat, lng, id,
    *carrying), so a nearby query tests the circle's bounding box and finds the nearest ids from the
    index alone (`located_nearest`), and a freshness column in `then` skips stale rows without
    touching the table. The id is a key column rather than an INCLUDE, which SQLite does not have
    (its indexes hold the rowid, the id, anyway). `carrying`: further columns a query over the whole
    circle reads (the feed's ranking), so that it too needs no row of the table. The finer cells
    (resolutions 10 and 11) are stored but not indexed: no cover uses them since the bounding box
    does the fine cut (docs/nearby.md)."""
    return [
        models.Index(fields=[geo.cell_field(res), *then, "lat", "lng", "id", *carrying], name=f"{prefix}_r{res}_idx")
        for res in geo.COVER_RESOLUTIONS
    ]
