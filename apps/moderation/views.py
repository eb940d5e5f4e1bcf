from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.errors import DomainError

from . import notify, selectors, services, targets
from .forms import AppealForm, ReportForm
from .models import Decision

OUTCOMES = {
    "pending": gettext_lazy("Waiting for a moderator"),
    "hidden_pending_review": gettext_lazy("Hidden pending review"),
    "action_taken": gettext_lazy("Moderators took action"),
    "no_action": gettext_lazy("Moderators found no problem"),
}


def _form_error(form, exc: DomainError):
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@login_required
def report_create(request, kind: str, object_id: int):
    try:
        target = targets.target_get(kind)
    except DomainError:
        raise Http404 from None
    obj = target.load(object_id)
    if obj is None:
        raise Http404
    try:
        target.check_reportable(obj, request.user)
    except DomainError as exc:
        # What the resident may not see (someone else's conversation, a private review, hidden
        # content) is as if it did not exist: the form would show its text in its title. Other
        # rules (one's own stall) are told on the form when it is sent.
        if exc.status_code in (403, 404):
            raise Http404 from None
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.report_file(
                reporter=request.user,
                kind=kind,
                object_id=object_id,
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Thank you. The moderators will look at it; its outcome shows here."))
            return redirect("moderation:my_reports")
    return render(
        request,
        "moderation/report_form.html",
        {"form": form, "target": target, "title": target.title(obj), "back_url": target.url(obj)},
    )


@login_required
def my_reports(request):
    reports = list(selectors.reports_of(reporter=request.user)[:200])
    for report in reports:
        report.outcome = selectors.report_outcome(report)
        report.outcome_text = OUTCOMES[report.outcome]
    return render(request, "moderation/my_reports.html", {"reports": reports})


@login_required
def my_decisions(request):
    decisions = list(selectors.decisions_about(resident=request.user)[:200])
    for decision in decisions:
        decision.text = notify.decision_phrase(decision)
        decision.subject_text = notify.subject_phrase(decision)
        decision.can_appeal = selectors.decision_can_appeal_now(decision)
        decision.deadline = selectors.decision_appeal_deadline(decision)
    return render(request, "moderation/decisions.html", {"decisions": decisions})


def _appeal(request, decision: Decision, appellant, template_context: dict):
    form = AppealForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.appeal_file(decision=decision, appellant=appellant, text=form.cleaned_data["text"])
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Your appeal is with the moderators. You will hear of their answer."))
            return None
    context = {
        "form": form,
        "decision": decision,
        "decision_text": notify.decision_phrase(decision),
        "subject_text": notify.subject_phrase(decision),
        **template_context,
    }
    return render(request, "moderation/appeal_form.html", context)


@login_required
def appeal_create(request, pk: int):
    decision = get_object_or_404(selectors.decisions_about(resident=request.user), pk=pk)
    response = _appeal(request, decision, request.user, {})
    return response or redirect("moderation:decisions")


def appeal_by_link(request, token: str):
    """The link in a decision's e-mail: a banned resident cannot log in, and still can appeal."""
    try:
        decision_id, subject_id = notify.appeal_token_read(token)
    except signing.BadSignature:
        return render(request, "moderation/appeal_link_invalid.html", status=400)
    decision = get_object_or_404(Decision.objects.select_related("subject", "case", "shop"), pk=decision_id)
    if decision.subject_id != subject_id or decision.subject is None:
        return render(request, "moderation/appeal_link_invalid.html", status=400)
    response = _appeal(request, decision, decision.subject, {"by_link": True})
    if response is None:
        return render(request, "moderation/appeal_sent.html")
    return response
