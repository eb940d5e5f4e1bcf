"""The moderators' admin: the report queue (one row per reported object), decisions, appeals, the
audit log, moderators' areas and a dashboard.

Every page is scoped to the moderator's areas in `get_queryset` and in `has_*_permission`; every
action asks for a reason on an intermediate page and goes through a service, which checks the area
again and writes the audit log. Nothing here is edited in place: moderators act, they do not edit.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from apps.accounts.models import Resident
from apps.core.errors import DomainError

from . import areas, rules, selectors, services, targets
from .forms import AppealAnswerForm, PointsForm, ReasonForm, SuspendForm
from .models import Appeal, AuditEntry, Case, Decision, ModeratorArea, Report

# --- Shared pieces ---------------------------------------------------------------------------------


class AreaFilter(admin.SimpleListFilter):
    title = gettext_lazy("area")
    parameter_name = "area"

    def lookups(self, request, model_admin):
        mine = areas.moderator_areas(request.user)
        cells = mine if mine is not None else ModeratorArea.objects.values_list("cell", flat=True).distinct()
        return [(str(cell), areas.area_label(cell)) for cell in sorted(set(cells))]

    def queryset(self, request, queryset):
        if self.value():
            try:
                return queryset.filter(area=int(self.value()))
            except ValueError:
                return queryset.none()
        return queryset


class ScopedAdmin(admin.ModelAdmin):
    """Rows that carry an `area`: moderators see their areas', superusers everything. Read-only."""

    def get_queryset(self, request):
        return areas.scope_by_area(super().get_queryset(request), request.user)

    def has_module_permission(self, request):
        return areas.is_moderator(request.user)

    def has_view_permission(self, request, obj=None):
        return areas.is_moderator(request.user) and (obj is None or areas.covers(request.user, obj.area))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_moderate_permission(self, request):
        return areas.is_moderator(request.user)


def _admin_link(obj, text=None):
    if obj is None:
        return "—"
    opts = obj._meta
    try:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    except Exception:  # noqa: BLE001 - a model without an admin page: plain text
        return str(text or obj)
    return format_html('<a href="{}">{}</a>', url, text or obj)


def _run_each(model_admin, request, items, call, done_message) -> None:
    done = 0
    for item in items:
        try:
            call(item)
        except DomainError as exc:
            model_admin.message_user(request, f"{item}: {exc.message}", messages.ERROR)
        else:
            done += 1
    if done:
        model_admin.message_user(request, done_message(done), messages.SUCCESS)


def _intermediate(model_admin, request, queryset, *, form_class, title, description, perform):
    """An admin action in two steps: a page asking for the reason (and tier or days), then the
    service for each selected row. Without a valid reason nothing is done."""
    if "apply" in request.POST:
        form = form_class(request.POST)
        if form.is_valid():
            perform(form.cleaned_data)
            return None
    else:
        form = form_class()
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "description": description,
        "form": form,
        "queryset": queryset,
        "opts": model_admin.model._meta,
        "action": request.POST.get("action"),
        "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/moderation/action_form.html", context)


# --- The report queue --------------------------------------------------------------------------------


class OverdueFilter(admin.SimpleListFilter):
    title = gettext_lazy("age")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Older than 48 hours")), ("no", _("Newer"))]

    def queryset(self, request, queryset):
        limit = timezone.now() - rules.OVERDUE
        if self.value() == "yes":
            return queryset.filter(opened_at__lt=limit)
        if self.value() == "no":
            return queryset.filter(opened_at__gte=limit)
        return queryset


class HiddenFilter(admin.SimpleListFilter):
    title = gettext_lazy("hidden pending review")
    parameter_name = "auto_hidden"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(auto_hidden_at__isnull=self.value() == "no")
        return queryset


class KindFilter(admin.SimpleListFilter):
    title = gettext_lazy("kind")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return targets.kind_choices()

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


class ReportInline(admin.TabularInline):
    model = Report
    fields = ("reporter", "reason", "note", "weight", "established", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return areas.is_moderator(request.user)


class DecisionInline(admin.TabularInline):
    model = Decision
    fk_name = "case"
    fields = ("created_at", "action", "automatic", "moderator", "reason", "points", "until", "revoked_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return areas.is_moderator(request.user)


@admin.register(Case)
class CaseAdmin(ScopedAdmin):
    list_display = (
        "content_summary",
        "kind",
        "top_reason",
        "reports_count",
        "weight",
        "hidden_pending",
        "age",
        "status",
        "area_label",
    )
    list_display_links = ("content_summary",)
    list_filter = ("status", KindFilter, "top_reason", AreaFilter, OverdueFilter, HiddenFilter)
    search_fields = ("title", "subject__username", "subject__display_name", "shop__name", "reports__note")
    list_per_page = 50
    inlines = [ReportInline, DecisionInline]
    actions = ["dismiss", "hide", "restore", "warn", "points", "suspend", "ban"]
    fields = (
        "content",
        "status",
        "kind",
        "area_label",
        "subject",
        "shop",
        "top_reason",
        "reports_count",
        "weight",
        "urgency",
        "opened_at",
        "last_report_at",
        "auto_hidden_at",
        "decided_at",
        "decided_by",
        "history",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return selectors.cases_for_moderator(moderator=request.user)

    # Columns ---------------------------------------------------------------------------------

    @admin.display(description=gettext_lazy("reported content"), ordering="title")
    def content_summary(self, case):
        text = (case.snapshot.get("text") or "")[:90]
        return format_html("<strong>{}</strong><br><small>{}</small>", case.title, text)

    @admin.display(description=gettext_lazy("hidden"), boolean=True, ordering="auto_hidden_at")
    def hidden_pending(self, case):
        return case.auto_hidden_at is not None

    @admin.display(description=gettext_lazy("age"), ordering="opened_at")
    def age(self, case):
        hours = int((timezone.now() - case.opened_at).total_seconds() // 3600)
        if case.is_open and getattr(case, "is_overdue", False):
            return format_html('<strong class="overdue" title="{}">⚠ {} h</strong>', _("Older than 48 hours"), hours)
        return f"{hours} h"

    @admin.display(description=gettext_lazy("area"), ordering="area")
    def area_label(self, case):
        return areas.area_label(case.area)

    @admin.display(description=gettext_lazy("reported content"))
    def content(self, case):
        snap = case.snapshot or {}
        target = targets.target_get(case.kind)
        obj = target.load(case.object_id)
        rows = [
            (_("Title"), snap.get("title") or case.title),
            (_("Text"), snap.get("text") or "—"),
        ]
        for key in ("price", "address", "licence_number", "seller", "shop", "owner", "username"):
            if snap.get(key):
                rows.append((key.replace("_", " ").capitalize(), snap[key]))
        table = format_html_join("", "<p><strong>{}:</strong> {}</p>", rows)
        photos = format_html_join(
            "", '<img class="moderation-photo" src="{}" alt="">', ((u,) for u in snap.get("photos", []))
        )
        if snap.get("context"):
            earlier = format_html_join(
                "", "<p><strong>{}:</strong> {}</p>", ((m["sender"], m["body"]) for m in snap["context"])
            )
            photos = format_html(
                '{}<div class="moderation-context"><p><em>{}</em></p>{}</div>', photos, _("Earlier messages"), earlier
            )
        if obj is None:
            live = format_html("<p><em>{}</em></p>", _("The object has been deleted; this is how it was reported."))
        else:
            live = format_html(
                '<p><a href="{}" target="_blank" rel="noopener">{}</a> · {} · {}</p>',
                target.url(obj),
                _("Open on the site"),
                _admin_link(obj, _("Open in the admin")),
                _("hidden now") if target.is_hidden(obj) else _("shown now"),
            )
        return format_html("{}{}{}", table, photos, live)

    @admin.display(description=gettext_lazy("history"))
    def history(self, case):
        url = (
            reverse("admin:moderation_auditentry_changelist")
            + "?"
            + urlencode({"content_type__id__exact": case.content_type_id, "object_id": case.object_id})
        )
        cases = (
            reverse("admin:moderation_case_changelist")
            + "?"
            + urlencode({"content_type__id__exact": case.content_type_id, "object_id": case.object_id, "status": ""})
        )
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>', cases, _("All cases on this object"), url, _("Audit log")
        )

    # Change view: the actions as buttons -------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        extra_context["case_actions"] = [(name, str(getattr(self, name).short_description)) for name in self.actions]
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [
            path("dashboard/", self.admin_site.admin_view(self.dashboard_view), name="moderation_dashboard"),
            # Before the ModelAdmin's own URLs: their "<path:object_id>/" would take it for an id.
            path(
                "<path:object_id>/decide/<str:action>/",
                self.admin_site.admin_view(self.decide_view),
                name="moderation_case_decide",
            ),
            *super().get_urls(),
        ]

    def decide_view(self, request, object_id, action):
        """One case, one action: the reason page of the action and, once sent, the decision. The
        change page links here: a form of its own inside Django's change form would be a nested
        form, which browsers drop (its button would post the change form instead)."""
        if not areas.is_moderator(request.user):
            raise PermissionDenied
        if action not in self.actions:
            raise Http404
        # Outside the moderator's areas the case does not exist for them, as on the change page.
        queryset = self.get_queryset(request).filter(pk=object_id)
        if not queryset.exists():
            raise Http404
        response = getattr(self, action)(request, queryset)
        return response or redirect("admin:moderation_case_change", object_id)

    def dashboard_view(self, request):
        if not areas.is_moderator(request.user):
            raise PermissionDenied
        mine = areas.moderator_areas(request.user)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Moderation dashboard"),
            "board": selectors.dashboard_for(moderator=request.user),
            "queues": selectors.other_queues_for(moderator=request.user),
            "areas": None if mine is None else [areas.area_label(a) for a in sorted(mine)],
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/moderation/dashboard.html", context)

    # Actions -----------------------------------------------------------------------------------

    def _decide(self, request, queryset, action, form_class, title, description=""):
        def perform(data):
            _run_each(
                self,
                request,
                queryset,
                lambda case: services.case_decide(
                    case=case,
                    moderator=request.user,
                    action=action,
                    reason=data["reason"],
                    tier=data.get("tier"),
                    days=data.get("days"),
                ),
                lambda n: ngettext("%(n)d case decided.", "%(n)d cases decided.", n) % {"n": n},
            )

        return _intermediate(
            self, request, queryset, form_class=form_class, title=title, description=description, perform=perform
        )

    @admin.action(
        description=gettext_lazy("Dismiss: no problem found (restores anything hidden)"), permissions=["moderate"]
    )
    def dismiss(self, request, queryset):
        return self._decide(request, queryset, Decision.Action.DISMISS, ReasonForm, _("Dismiss the reports"))

    @admin.action(description=gettext_lazy("Hide the content (reports upheld)"), permissions=["moderate"])
    def hide(self, request, queryset):
        return self._decide(request, queryset, Decision.Action.HIDE, ReasonForm, _("Hide the reported content"))

    @admin.action(description=gettext_lazy("Warn the author (content stays hidden)"), permissions=["moderate"])
    def warn(self, request, queryset):
        return self._decide(request, queryset, Decision.Action.WARN, ReasonForm, _("Warn the author"))

    @admin.action(description=gettext_lazy("Penalty points for the shop"), permissions=["moderate"])
    def points(self, request, queryset):
        return self._decide(
            request,
            queryset,
            Decision.Action.POINTS,
            PointsForm,
            _("Penalty points for the shop"),
            _(
                "Points count for 180 days: 6 move the shop's stalls down the feed, 12 withdraw its pledge "
                "badges, 20 suspend it for 30 days."
            ),
        )

    @admin.action(description=gettext_lazy("Suspend the shop or person for N days"), permissions=["moderate"])
    def suspend(self, request, queryset):
        return self._decide(
            request,
            queryset,
            Decision.Action.SUSPEND,
            SuspendForm,
            _("Suspend"),
            _("A shop's stall: the shop is suspended. A neighbour's stall or a person: the person is."),
        )

    @admin.action(description=gettext_lazy("Ban the person"), permissions=["moderate"])
    def ban(self, request, queryset):
        return self._decide(request, queryset, Decision.Action.BAN, ReasonForm, _("Ban the person"))

    @admin.action(description=gettext_lazy("Restore hidden content of decided cases"), permissions=["moderate"])
    def restore(self, request, queryset):
        def perform(data):
            _run_each(
                self,
                request,
                queryset,
                lambda case: services.case_restore(case=case, moderator=request.user, reason=data["reason"]),
                lambda n: ngettext("%(n)d restored.", "%(n)d restored.", n) % {"n": n},
            )

        return _intermediate(
            self,
            request,
            queryset,
            form_class=ReasonForm,
            title=_("Restore the content"),
            description="",
            perform=perform,
        )


# --- Decisions, appeals, the audit log ------------------------------------------------------------------


@admin.register(Decision)
class DecisionAdmin(ScopedAdmin):
    list_display = (
        "created_at",
        "action",
        "automatic",
        "about",
        "subject",
        "shop",
        "points",
        "until",
        "moderator",
        "revoked_at",
    )
    list_filter = ("action", "automatic", AreaFilter, ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("reason", "subject__username", "subject__display_name", "shop__name", "case__title")
    list_select_related = ("case", "subject", "shop", "moderator")
    date_hierarchy = "created_at"
    exclude = ("state",)
    readonly_fields = (
        "case",
        "action",
        "automatic",
        "moderator",
        "subject",
        "shop",
        "points",
        "tier",
        "until",
        "reason",
        "state_json",
        "created_at",
        "revoked_at",
        "revoked_by",
        "ended_at",
        "emailed_at",
    )

    @admin.display(description=gettext_lazy("case"))
    def about(self, decision):
        return _admin_link(decision.case, decision.case.title if decision.case else None)

    @admin.display(description=gettext_lazy("state"))
    def state_json(self, decision):
        import json

        return format_html("<pre>{}</pre>", json.dumps(decision.state, indent=2, ensure_ascii=False))


@admin.register(Appeal)
class AppealAdmin(ScopedAdmin):
    list_display = (
        "created_at",
        "status",
        "decision_link",
        "appellant",
        "decided_by_original",
        "decided_by",
        "text_short",
    )
    list_filter = ("status", AreaFilter)
    search_fields = ("text", "appellant__username", "appellant__display_name", "decision__case__title")
    actions = ["grant", "refuse"]
    readonly_fields = (
        "decision_link",
        "decision_text",
        "appellant",
        "text",
        "status",
        "created_at",
        "decided_by",
        "decided_at",
        "answer",
    )
    fields = readonly_fields

    def get_queryset(self, request):
        return selectors.appeals_for_moderator(moderator=request.user)

    @admin.display(description=gettext_lazy("decision"))
    def decision_link(self, appeal):
        return _admin_link(appeal.decision)

    @admin.display(description=gettext_lazy("decided by"))
    def decided_by_original(self, appeal):
        return appeal.decision.moderator or _("automatic")

    @admin.display(description=gettext_lazy("decision"))
    def decision_text(self, appeal):
        d = appeal.decision
        return format_html(
            "<p><strong>{}</strong> · {}</p><p>{}</p>{}",
            d.get_action_display(),
            d.created_at,
            d.reason,
            _admin_link(d.case, _("The case")) if d.case else "",
        )

    @admin.display(description=gettext_lazy("appeal"))
    def text_short(self, appeal):
        return appeal.text[:80]

    def _answer(self, request, queryset, grant: bool, title):
        def perform(data):
            _run_each(
                self,
                request,
                queryset,
                lambda appeal: services.appeal_decide(
                    appeal=appeal, moderator=request.user, grant=grant, answer=data["answer"]
                ),
                lambda n: ngettext("%(n)d appeal decided.", "%(n)d appeals decided.", n) % {"n": n},
            )

        return _intermediate(
            self,
            request,
            queryset,
            form_class=AppealAnswerForm,
            title=title,
            description=_("Appeals are decided by a moderator other than the one who made the decision."),
            perform=perform,
        )

    @admin.action(description=gettext_lazy("Grant: revoke the decision and undo it"), permissions=["moderate"])
    def grant(self, request, queryset):
        return self._answer(request, queryset, True, _("Grant the appeal"))

    @admin.action(description=gettext_lazy("Refuse: the decision stands"), permissions=["moderate"])
    def refuse(self, request, queryset):
        return self._answer(request, queryset, False, _("Refuse the appeal"))


@admin.register(AuditEntry)
class AuditEntryAdmin(ScopedAdmin):
    """Append-only: nobody, superusers included, adds, changes or deletes entries here."""

    list_display = ("created_at", "who", "action", "object_repr", "reason_short", "area_label")
    list_filter = ("action", AreaFilter)
    search_fields = ("object_repr", "reason", "actor_name", "action")
    date_hierarchy = "created_at"
    exclude = ("before", "after", "actor")
    readonly_fields = (
        "created_at",
        "who",
        "action",
        "content_type",
        "object_id",
        "object_repr",
        "area",
        "reason",
        "before_json",
        "after_json",
        "case",
        "decision",
    )

    def get_actions(self, request):
        return {}

    @admin.display(description=gettext_lazy("who"), ordering="actor_name")
    def who(self, entry):
        return entry.actor_name or _("the system")

    @admin.display(description=gettext_lazy("reason"))
    def reason_short(self, entry):
        return entry.reason[:80]

    @admin.display(description=gettext_lazy("area"))
    def area_label(self, entry):
        return areas.area_label(entry.area)

    @admin.display(description=gettext_lazy("before"))
    def before_json(self, entry):
        import json

        return format_html("<pre>{}</pre>", json.dumps(entry.before, indent=2, ensure_ascii=False))

    @admin.display(description=gettext_lazy("after"))
    def after_json(self, entry):
        import json

        return format_html("<pre>{}</pre>", json.dumps(entry.after, indent=2, ensure_ascii=False))


# --- Moderators' areas (superusers only) ----------------------------------------------------------------


class ModeratorAreaForm(forms.ModelForm):
    area = forms.CharField(
        label=gettext_lazy("Area"),
        help_text=gettext_lazy(
            "An H3 cell of resolution 7 (for example 87309a1a3ffffff), or a point inside it as “lat, lng”."
        ),
    )

    class Meta:
        model = ModeratorArea
        fields = ("moderator",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "moderator" in self.fields:  # not on the read-only page of an existing assignment
            self.fields["moderator"].queryset = Resident.objects.filter(is_staff=True, is_active=True)

    def clean_area(self):
        text = self.cleaned_data["area"].strip()
        if "," in text:
            try:
                lat, lng = (float(part) for part in text.split(","))
                cell = areas.area_of_point(lat, lng)
            except (ValueError, areas.geo.InvalidLocation):
                raise forms.ValidationError(_("Give “lat, lng” as two numbers.")) from None
            return cell
        try:
            return areas.area_parse(text)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


@admin.register(ModeratorArea)
class ModeratorAreaAdmin(admin.ModelAdmin):
    form = ModeratorAreaForm
    list_display = ("moderator", "area_label", "assigned_by", "assigned_at")
    list_filter = (("moderator", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("moderator__username", "moderator__display_name")

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    # An assignment is made or removed, never edited: its page shows it read-only.
    def get_fields(self, request, obj=None):
        return ("moderator", "area") if obj is None else ("moderator", "area_label", "assigned_by", "assigned_at")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("moderator", "area_label", "assigned_by", "assigned_at")

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    @admin.display(description=gettext_lazy("area"), ordering="cell")
    def area_label(self, obj):
        return areas.area_label(obj.cell)

    def save_model(self, request, obj, form, change):
        try:
            saved = services.moderator_area_assign(
                moderator=form.cleaned_data["moderator"], cell=form.cleaned_data["area"], by=request.user
            )
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        obj.pk, obj.cell = saved.pk, saved.cell

    def delete_model(self, request, obj):
        services.moderator_area_remove(area=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for area in queryset:
            services.moderator_area_remove(area=area, by=request.user)


# --- Links from other apps' admin pages to an object's reports and history -------------------------------


def moderation_links(obj) -> str:
    """For any reportable object's admin page: its cases and its audit log, with counts."""
    if obj is None or obj.pk is None:
        return "—"
    ct = ContentType.objects.get_for_model(obj)
    query = {"content_type__id__exact": ct.pk, "object_id": obj.pk}
    cases = Case.objects.filter(content_type=ct, object_id=obj.pk)
    open_count = cases.filter(status=Case.Status.OPEN).count()
    entries = AuditEntry.objects.filter(content_type=ct, object_id=obj.pk).count()
    extra = ""
    decided_on = {"shops.Shop": "shop", "accounts.Resident": "subject"}.get(obj._meta.label)
    if decided_on:
        extra = format_html(
            ' · <a href="{}?{}">{}</a>',
            reverse("admin:moderation_decision_changelist"),
            urlencode({f"{decided_on}__id__exact": obj.pk}),
            _("%(n)d decisions") % {"n": Decision.objects.filter(**{decided_on: obj}).count()},
        )
    return format_html(
        '<a href="{}?{}">{}</a> · <a href="{}?{}">{}</a>{}',
        reverse("admin:moderation_case_changelist"),
        urlencode({**query, "status": ""}),
        _("%(n)d report cases (%(open)d open)") % {"n": cases.count(), "open": open_count},
        reverse("admin:moderation_auditentry_changelist"),
        urlencode(query),
        _("%(n)d audit entries") % {"n": entries},
        extra,
    )


class AreaScopedAdminMixin:
    """For other apps' admins of located things (shops, stalls, residents' homes, and what hangs off
    them): area moderators see those of their areas only, in lists, change pages and actions;
    superusers see everything. `area_paths` says where the located thing is: "" for the object
    itself, "shop__" for its shop; a row is in scope when any of them is. Reportable things also
    get their moderation history as a read-only field."""

    area_paths: tuple[str, ...] = ("",)
    show_moderation_history = True

    def area_q(self, request) -> Q:
        q = Q()
        for prefix in self.area_paths:
            q |= areas.located_q(request.user, prefix)
        return q

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if request.user.is_superuser else qs.filter(self.area_q(request))

    def _in_scope(self, request, obj) -> bool:
        if obj is None or request.user.is_superuser:
            return True
        if self.area_paths == ("",):
            return areas.located_in_scope(request.user, obj)
        return self.model._default_manager.filter(self.area_q(request), pk=obj.pk).exists()

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self._in_scope(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._in_scope(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._in_scope(request, obj)

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        return (*fields, "moderation_history") if self.show_moderation_history else fields

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if not self.show_moderation_history or "moderation_history" in fields:
            return fields
        return [*fields, "moderation_history"]

    @admin.display(description=gettext_lazy("moderation"))
    def moderation_history(self, obj):
        return moderation_links(obj)


class _SanctionActionsMixin:
    """Sanctions straight from a shop's or resident's admin page (for what did not come through the
    report queue, for example an escalated pledge-claim dispute): each asks for a reason and goes
    through the same services, area checks and audit log as the queue."""

    sanction_actions: tuple[str, ...] = ()

    def get_actions(self, request):
        actions = super().get_actions(request)
        if areas.is_moderator(request.user):
            for name in self.sanction_actions:
                actions[name] = self.get_action(name)
        return actions

    def _sanction(self, request, queryset, *, form_class, title, call, description=""):
        def perform(data):
            _run_each(
                self,
                request,
                queryset,
                lambda obj: call(obj, data),
                lambda n: ngettext("%(n)d decision made.", "%(n)d decisions made.", n) % {"n": n},
            )

        return _intermediate(
            self, request, queryset, form_class=form_class, title=title, description=description, perform=perform
        )


class ShopSanctionsMixin(_SanctionActionsMixin):
    sanction_actions = ("moderation_points", "moderation_suspend")

    @admin.action(description=gettext_lazy("Penalty points for the shop (with a reason)"))
    def moderation_points(self, request, queryset):
        return self._sanction(
            request,
            queryset,
            form_class=PointsForm,
            title=_("Penalty points for the shop"),
            description=_("Points count for 180 days: 6 demote, 12 withdraw pledge badges, 20 suspend for 30 days."),
            call=lambda shop, d: services.shop_penalize(
                shop=shop, moderator=request.user, tier=d["tier"], reason=d["reason"]
            ),
        )

    @admin.action(description=gettext_lazy("Suspend the shop for N days (with a reason)"))
    def moderation_suspend(self, request, queryset):
        return self._sanction(
            request,
            queryset,
            form_class=SuspendForm,
            title=_("Suspend the shop"),
            call=lambda shop, d: services.shop_suspend_for(
                shop=shop, moderator=request.user, days=d["days"], reason=d["reason"]
            ),
        )


class ResidentSanctionsMixin(_SanctionActionsMixin):
    sanction_actions = ("moderation_suspend", "moderation_ban")

    @admin.action(description=gettext_lazy("Suspend for N days: no posting (with a reason)"))
    def moderation_suspend(self, request, queryset):
        return self._sanction(
            request,
            queryset,
            form_class=SuspendForm,
            title=_("Suspend the resident"),
            call=lambda resident, d: services.resident_suspend_for(
                resident=resident, moderator=request.user, days=d["days"], reason=d["reason"]
            ),
        )

    @admin.action(description=gettext_lazy("Ban: close the account (with a reason)"))
    def moderation_ban(self, request, queryset):
        return self._sanction(
            request,
            queryset,
            form_class=ReasonForm,
            title=_("Ban the resident"),
            call=lambda resident, d: services.resident_ban_for(
                resident=resident, moderator=request.user, reason=d["reason"]
            ),
        )
