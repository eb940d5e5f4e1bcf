from django import forms
from django.utils.translation import gettext_lazy as _

from . import rules
from .models import Reason


class ReportForm(forms.Form):
    reason = forms.ChoiceField(label=_("What is wrong?"), choices=Reason.choices, widget=forms.RadioSelect)
    note = forms.CharField(
        label=_("Anything the moderators should know (optional)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class AppealForm(forms.Form):
    text = forms.CharField(
        label=_("Why is the decision wrong?"),
        min_length=10,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("You can appeal each decision once; another moderator reads it."),
    )


# --- The admin's intermediate pages: every action needs a reason -----------------------------------


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        min_length=rules.REASON_MIN_LENGTH,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text=_("Required. The person affected reads it, and it stays in the audit log."),
    )


class PointsForm(ReasonForm):
    tier = forms.TypedChoiceField(
        label=_("Tier"),
        coerce=int,
        choices=[(tier, label) for tier, (_points, label) in rules.PENALTY_TIERS.items()],
    )


class SuspendForm(ReasonForm):
    days = forms.IntegerField(label=_("Days"), min_value=1, max_value=rules.MAX_SUSPENSION_DAYS, initial=7)


class AppealAnswerForm(forms.Form):
    answer = forms.CharField(
        label=_("Answer to the appellant"),
        min_length=rules.REASON_MIN_LENGTH,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text=_("Required. The appellant reads it, and it stays in the audit log."),
    )
