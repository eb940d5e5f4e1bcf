"""Forms of the shop pages: they only shape input; the rules are in services.py."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from django import forms
from django.conf import settings
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from . import pledges
from .categories import Category
from .models import Shop
from .services import Span


def _time_zone_choices():
    return [(z, z.replace("_", " ")) for z in sorted(zoneinfo.available_timezones()) if "/" in z]


def _max(field: str) -> int:
    return Shop._meta.get_field(field).max_length


class ShopForm(forms.Form):
    name = forms.CharField(label=_("Shop name"), max_length=_max("name"))
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    description = forms.CharField(
        label=_("Description"),
        max_length=_max("description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What you sell, what makes the shop yours."),
    )
    address = forms.CharField(label=_("Street address"), max_length=_max("address"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=_max("phone"), required=False)
    contact_note = forms.CharField(
        label=_("Other contact"),
        max_length=_max("contact_note"),
        required=False,
        help_text=_("WeChat ID, opening notes, how to find the door…"),
    )
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=_time_zone_choices, initial=settings.TIME_ZONE)
    licence_number = forms.CharField(
        label=_("Business licence number"),
        max_length=_max("licence_number"),
        required=False,
        help_text=_("A moderator checks it before the shop gets its verified badge."),
    )
    lat = forms.FloatField(
        label=_("Latitude"), min_value=-90, max_value=90, widget=forms.NumberInput(attrs={"step": "any"})
    )
    lng = forms.FloatField(
        label=_("Longitude"), min_value=-180, max_value=180, widget=forms.NumberInput(attrs={"step": "any"})
    )

    location_fields = ("lat", "lng")


class ShopRegisterForm(ShopForm):
    photo = forms.FileField(
        label=_("A photo of the shop"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
    )


SPAN_RE = re.compile(r"^(\d{1,2})[:：.](\d{2})\s*[-–—~至到]\s*(\d{1,2})[:：.](\d{2})$")


def _parse_time(hh: str, mm: str) -> dt.time:
    h, m = int(hh), int(mm)
    if h == 24 and m == 0:  # "until 24:00" is how people write midnight
        return dt.time(23, 59)
    return dt.time(h, m)


class HoursForm(forms.Form):
    """One line per weekday: "08:00-12:00, 14:00-20:00", empty when closed."""

    def __init__(self, *args, shop=None, **kwargs):
        super().__init__(*args, **kwargs)
        week = {d: [] for d in range(7)}
        if shop is not None:
            for h in shop.hours.all():
                week[h.weekday].append(f"{h.opens:%H:%M}-{h.closes:%H:%M}")
        for day in range(7):
            self.fields[f"day_{day}"] = forms.CharField(
                label=WEEKDAYS[day],
                required=False,
                max_length=200,
                initial=", ".join(week[day]),
                widget=forms.TextInput(attrs={"placeholder": _("closed"), "inputmode": "numeric"}),
            )

    def clean(self):
        data = super().clean()
        spans = []
        for day in range(7):
            text = (data.get(f"day_{day}") or "").strip()
            for part in filter(None, (p.strip() for p in re.split(r"[,，;；]", text))):
                match = SPAN_RE.match(part)
                try:
                    if not match:
                        raise ValueError(part)
                    opens, closes = _parse_time(*match.groups()[:2]), _parse_time(*match.groups()[2:])
                except ValueError:
                    self.add_error(
                        f"day_{day}",
                        _("“%(part)s” is not a span of time like 08:00-12:00.") % {"part": part},
                    )
                    break
                spans.append(Span(day, opens, closes))
        data["spans"] = spans
        return data


class ExceptionForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    closed = forms.BooleanField(label=_("Closed all day"), required=False, initial=True)
    opens = forms.TimeField(label=_("Opens"), required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    closes = forms.TimeField(label=_("Closes"), required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    note = forms.CharField(label=_("Note"), required=False, max_length=120, help_text=_("For example: Spring Festival"))


class PhotoForm(forms.Form):
    image = forms.FileField(label=_("Photo"), widget=forms.ClearableFileInput(attrs={"accept": "image/*"}))


class StaffForm(forms.Form):
    username = forms.CharField(label=_("Username of the helper"), max_length=150)


def pledge_form_class(kind: pledges.PledgeKind) -> type[forms.Form]:
    """A form with one number field per term of a catalogue pledge, limits shown to the browser."""
    fields = {}
    for term in kind.terms:
        field_class = forms.DecimalField if term.is_money else forms.IntegerField
        extra = {"decimal_places": 2} if term.is_money else {}
        fields[term.name] = field_class(
            label=term.label,
            min_value=term.minimum,
            max_value=term.maximum,
            initial=term.default,
            help_text=term.unit,
            **extra,
        )
    return type(f"{kind.code.title()}PledgeForm", (forms.Form,), fields)
