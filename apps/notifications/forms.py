from django import forms
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from .models import NotificationPreferences

# Offered in the time zone field; any IANA name is accepted.
COMMON_ZONES = (
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "UTC",
)


class PreferencesForm(forms.Form):
    """Input only: the ranges and the time zone are checked by `services.preferences_update`, the
    one place the rules live, and its errors come back onto these fields."""

    digest = forms.ChoiceField(label=_("Nearby digest"), choices=NotificationPreferences.Digest.choices)
    digest_hour = forms.IntegerField(
        label=_("At (hour, 0–23)"), widget=forms.NumberInput(attrs={"min": 0, "max": 23, "inputmode": "numeric"})
    )
    digest_weekday = forms.TypedChoiceField(label=_("On (weekly digest)"), coerce=int, choices=sorted(WEEKDAYS.items()))
    time_zone = forms.CharField(
        label=_("Time zone"),
        max_length=64,
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
        help_text=_("Your digest comes at that hour in this time zone."),
    )
    email_messages = forms.BooleanField(label=_("E-mail me new messages"), required=False)
    email_deals = forms.BooleanField(label=_("E-mail me deals to confirm"), required=False)
    email_moderation = forms.BooleanField(label=_("E-mail me moderators' decisions"), required=False)
