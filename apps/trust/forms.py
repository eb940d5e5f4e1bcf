"""Plain forms for the trust pages: they shape input; the rules are in the services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.shops import pledges

from . import rules


class LetterRequestForm(forms.Form):
    postal_address = forms.CharField(
        label=_("Postal address for the letter"),
        max_length=rules.ADDRESS_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept only until the letter is used or expires, then erased. Only moderators who post it see it."),
    )


class CodeForm(forms.Form):
    # Not "code": error bodies already carry a `code` key (apps.core.api).
    letter_code = forms.CharField(
        label=_("Code from your letter"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "characters"}),
    )


class PrivacyForm(forms.Form):
    share_acquaintances = forms.BooleanField(
        label=_("Show my name to neighbours among “neighbours you both know”"),
        required=False,
        help_text=_("Otherwise you are only counted, never named."),
    )


class DealMarkForm(forms.Form):
    stall = forms.TypedChoiceField(label=_("Stall"), coerce=int)
    price = forms.DecimalField(
        label=_("Price agreed (¥)"), required=False, min_value=0, max_digits=10, decimal_places=2
    )
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=1000, initial=1)

    def __init__(self, *args, stalls=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stall"].choices = [(s.pk, s.title) for s in stalls]


class ReviewForm(forms.Form):
    stars = forms.TypedChoiceField(
        label=_("Stars"),
        coerce=int,
        choices=[(n, "★" * n) for n in range(5, 0, -1)],
        widget=forms.RadioSelect,
    )
    text = forms.CharField(
        label=_("Your review"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class ReplyForm(forms.Form):
    text = forms.CharField(label=_("The shop's reply"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class ClaimForm(forms.Form):
    kind = forms.ChoiceField(label=_("Pledge"))
    text = forms.CharField(label=_("What happened"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, kinds=None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = pledges.kind_choices()
        if kinds is not None:
            choices = [(code, title) for code, title in choices if code in kinds]
        self.fields["kind"].choices = choices


class AnswerForm(forms.Form):
    accept = forms.TypedChoiceField(
        label=_("Your answer"),
        coerce=lambda v: v == "yes",
        choices=[("yes", _("Honour the pledge")), ("no", _("Reject the claim"))],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Needed when you reject: the buyer, and moderators if disputed, read it."),
    )


class DisputeForm(forms.Form):
    text = forms.CharField(label=_("Why you disagree"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
