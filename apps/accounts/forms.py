from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import Resident


class SignUpForm(forms.Form):
    username = forms.RegexField(
        label=_("Username"),
        max_length=150,
        regex=r"^[\w.@+-]+\Z",
        help_text=_("Letters, digits and @/./+/-/_ only."),
    )
    email = forms.EmailField(label=_("E-mail"))
    display_name = forms.CharField(label=_("Display name"), max_length=40, help_text=_("What neighbours see."))
    language = forms.ChoiceField(label=_("Language"), choices=Resident.Language.choices)
    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label=_("Password again"), widget=forms.PasswordInput, strip=False)

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return data


class ProfileForm(forms.Form):
    display_name = forms.CharField(label=_("Display name"), max_length=40)
    bio = forms.CharField(
        label=_("Short bio"), max_length=280, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    language = forms.ChoiceField(label=_("Language"), choices=Resident.Language.choices)
    radius_m = forms.IntegerField(
        label=_("How far is nearby for you (metres)"),
        min_value=settings.JIEFANG_RADIUS_MIN_M,
        max_value=settings.JIEFANG_RADIUS_MAX_M,
    )
    avatar = forms.FileField(label=_("Avatar"), required=False)


class HomeForm(forms.Form):
    lat = forms.FloatField(min_value=-90, max_value=90, widget=forms.HiddenInput)
    lng = forms.FloatField(min_value=-180, max_value=180, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if "lat" not in data or "lng" not in data:
            raise forms.ValidationError(_("Tap the map or use your location to choose your home area."))
        return data


class EraseForm(forms.Form):
    password = forms.CharField(
        label=_("Your password, to confirm"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
