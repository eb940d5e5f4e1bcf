from datetime import timedelta

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.shops.categories import Category

from .models import Stall


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        if not data:
            return []
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultiplePhotoField, self).clean(f, initial) for f in files]


LIFETIMES = [
    ("1", _("1 day")),
    ("3", _("3 days")),
    ("7", _("7 days")),
    ("14", _("14 days")),
    ("30", _("30 days")),
]


class StallForm(forms.Form):
    kind = forms.ChoiceField(label=_("What is it?"), choices=Stall.Kind.choices)
    title = forms.CharField(label=_("Title"), max_length=80)
    description = forms.CharField(
        label=_("Description"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices, initial=Category.OTHER)
    price = forms.DecimalField(label=_("Price (¥)"), max_digits=12, decimal_places=2, required=False, min_value=0)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=9999, initial=1)
    starts_at = forms.DateTimeField(
        label=_("Starts at (events)"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    lifetime_days = forms.ChoiceField(label=_("Keep it up for"), choices=LIFETIMES, required=False)
    shop = forms.TypedChoiceField(label=_("Post as"), coerce=int, required=False, empty_value=None)
    photos = MultiplePhotoField(label=_("Photos (up to 6)"), required=False)

    def __init__(self, *args, shops=(), **kwargs):
        super().__init__(*args, **kwargs)
        if shops:
            self.fields["shop"].choices = [("", _("Myself, as a neighbour")), *[(s.pk, s.name) for s in shops]]
        else:
            del self.fields["shop"]

    def expires_at(self):
        days = self.cleaned_data.get("lifetime_days")
        return timezone.now() + timedelta(days=int(days)) if days else None


class StallEditForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=80)
    description = forms.CharField(
        label=_("Description"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    price = forms.DecimalField(label=_("Price (¥)"), max_digits=12, decimal_places=2, required=False, min_value=0)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=9999)
    photos = MultiplePhotoField(label=_("Add photos"), required=False)


class FeedFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", _("Everything")), *Stall.Kind.choices], required=False)
    category = forms.ChoiceField(
        label=_("Category"), choices=[("", _("All categories")), *Category.choices], required=False
    )
    free = forms.BooleanField(label=_("Free only"), required=False)
    price_min = forms.DecimalField(label=_("From ¥"), min_value=0, max_digits=10, decimal_places=2, required=False)
    price_max = forms.DecimalField(label=_("To ¥"), min_value=0, max_digits=10, decimal_places=2, required=False)
    q = forms.CharField(label=_("Search"), max_length=100, required=False)
    seller = forms.ChoiceField(
        label=_("From"),
        choices=[("", _("Shops and neighbours")), ("shops", _("Shops only")), ("neighbours", _("Neighbours only"))],
        required=False,
    )
    radius_m = forms.IntegerField(
        label=_("Within (m)"),
        min_value=settings.JIEFANG_RADIUS_MIN_M,
        max_value=settings.JIEFANG_RADIUS_MAX_M,
        required=False,
    )
    lat = forms.FloatField(min_value=-90, max_value=90, required=False, widget=forms.HiddenInput)
    lng = forms.FloatField(min_value=-180, max_value=180, required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        lo, hi = data.get("price_min"), data.get("price_max")
        if lo is not None and hi is not None and lo > hi:
            self.add_error("price_max", _("The upper price is below the lower one."))
        if (data.get("lat") is None) != (data.get("lng") is None):
            raise forms.ValidationError(_("A position needs both latitude and longitude."))
        return data
