from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from apps.core.errors import DomainError

from . import services
from .forms import COMMON_ZONES, PreferencesForm
from .selectors import notifications_for

PREFERENCE_FIELDS = (
    "digest",
    "digest_hour",
    "digest_weekday",
    "time_zone",
    "email_messages",
    "email_deals",
    "email_moderation",
)


@login_required
def notification_list(request):
    page = Paginator(notifications_for(resident=request.user), 30).get_page(request.GET.get("page"))
    return render(request, "notifications/list.html", {"page": page})


@login_required
@require_POST
def notification_open(request, pk: int):
    try:
        notification = services.notification_mark_read(resident=request.user, notification_id=pk)
    except services.NotificationNotFound:
        # Someone else's notification, or none: the same answer, and never a server error.
        raise Http404 from None
    target = notification.url
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("notifications:list")


@login_required
@require_POST
def notification_read_all(request):
    services.notifications_mark_all_read(resident=request.user)
    return redirect("notifications:list")


@login_required
def preferences_edit(request):
    prefs = services.preferences_of(resident_id=request.user.pk)
    initial = {name: getattr(prefs, name) for name in PREFERENCE_FIELDS}
    form = PreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.preferences_update(resident=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Your e-mail settings are saved."))
            return redirect("notifications:preferences")
    status = 400 if form.errors else 200
    return render(request, "notifications/preferences.html", {"form": form, "zones": COMMON_ZONES}, status=status)


@csrf_exempt  # the signed token is the credential; mail clients POST without cookies (RFC 8058)
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """GET shows what the link turns off, with one button; POST (that button, or a mail client's
    one-click `List-Unsubscribe-Post`) turns it off. GET alone changes nothing, because mail
    scanners follow links."""
    try:
        resident_id, scope = services.unsubscribe_read(token=token)
    except DomainError as exc:
        return render(request, "notifications/unsubscribe.html", {"error": exc.message}, status=400)
    if request.method == "POST":
        prefs, scope = services.unsubscribe_apply(token=token)
        if request.POST.get("List-Unsubscribe") == "One-Click":
            return HttpResponse(_("Unsubscribed."), content_type="text/plain; charset=utf-8")
        return render(request, "notifications/unsubscribe.html", {"done": True, "scope": scope})
    prefs = services.preferences_of(resident_id=resident_id)
    already = prefs.digest == prefs.Digest.OFF if scope == "digest" else not getattr(prefs, scope)
    return render(request, "notifications/unsubscribe.html", {"scope": scope, "already": already, "token": token})
