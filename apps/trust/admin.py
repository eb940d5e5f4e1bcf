"""Moderators' side of trust: letter batches, residency decisions, pledge claims, and read-only
history. Every action calls a service and needs a reason where the decision is a judgement."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.core.errors import DomainError
from apps.moderation.admin import AreaScopedAdminMixin

from . import services
from .letters import letters_pdf
from .models import (
    Deal,
    LetterBatch,
    PledgeClaim,
    Recognition,
    ResidencyEvent,
    ResidencyLetter,
    ResidentResidency,
    Review,
    Vouch,
)


class ReadOnlyAdmin(AreaScopedAdminMixin, admin.ModelAdmin):
    """History written by services: readable, never added, edited or deleted here. Area moderators
    see the rows of their areas only (`area_paths`: where the resident or shop concerned is)."""

    show_moderation_history = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=2000)


def reason_action(modeladmin, request, queryset, *, title: str, action: str, apply, done):
    """An action that asks for a reason on an intermediate page, then calls `apply(obj, reason)` (a
    service) for each selected object. Errors are reported per object; nothing is half-done for one."""
    form = ReasonForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        count = 0
        for obj in queryset:
            try:
                apply(obj, form.cleaned_data["reason"])
            except DomainError as exc:
                modeladmin.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
            else:
                count += 1
        if count:
            modeladmin.message_user(request, done(count), messages.SUCCESS)
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "objects": queryset,
        "form": form,
        "action": action,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "trust/admin/reason_action.html", context)


# --- Residency ----------------------------------------------------------------------------------------


@admin.register(ResidencyLetter)
class ResidencyLetterAdmin(ReadOnlyAdmin):
    area_paths = ("resident__",)
    list_display = ("resident", "status", "created_at", "printed_at", "expires_at", "attempts", "batch")
    list_filter = ("status",)
    search_fields = ("resident__username", "resident__display_name")
    list_select_related = ("resident",)
    actions = ["print_letters"]
    fields = ("resident", "status", "postal_address", "batch", "attempts", "created_at", "printed_at", "expires_at")
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        return (
            super().has_view_permission(request, obj) or request.user.has_perm("trust.print_letters")
        ) and self._in_scope(request, obj)

    def has_print_permission(self, request):
        return request.user.has_perm("trust.print_letters")

    @admin.action(
        description=_("Print the selected letters (PDF, one page each; gives new codes)"), permissions=["print"]
    )
    def print_letters(self, request, queryset):
        try:
            batch, printed = services.residency_letters_print(
                moderator=request.user, letter_ids=list(queryset.values_list("pk", flat=True))
            )
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return None
        # The site's public address (what residents type from paper), not the admin's host.
        pdf = letters_pdf(printed, site_url=settings.JIEFANG_SITE_URL.rstrip("/"))
        response = HttpResponse(pdf, content_type="application/pdf")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="residency-letters-{batch.pk}-{stamp}.pdf"'
        return response


@admin.register(LetterBatch)
class LetterBatchAdmin(ReadOnlyAdmin):
    list_display = ("pk", "printed_at", "printed_by", "size")
    list_select_related = ("printed_by",)
    area_paths = ("letters__resident__",)

    def get_queryset(self, request):
        return super().get_queryset(request).distinct()  # one row per batch, however many letters match


@admin.register(ResidencyEvent)
class ResidencyEventAdmin(ReadOnlyAdmin):
    area_paths = ("resident__",)
    list_display = ("resident", "kind", "actor", "reason", "created_at")
    list_filter = ("kind",)
    search_fields = ("resident__username", "resident__display_name", "reason")
    list_select_related = ("resident", "actor")


@admin.register(ResidentResidency)
class ResidentResidencyAdmin(ReadOnlyAdmin):
    """Residents, for a moderator's residency decision (verify or revoke, with a reason)."""

    list_display = ("username", "display_name", "verified", "residency_verified_at", "date_joined", "is_active")
    list_filter = (("residency_verified_at", admin.EmptyFieldListFilter), "is_active")
    search_fields = ("username", "display_name", "email")
    fields = ("username", "display_name", "residency_verified_at", "date_joined", "is_active")
    readonly_fields = fields
    actions = ["verify_residency", "revoke_residency"]

    def has_view_permission(self, request, obj=None):
        return (
            super().has_view_permission(request, obj) or request.user.has_perm("trust.decide_residency")
        ) and self._in_scope(request, obj)

    def has_decide_permission(self, request):
        return request.user.has_perm("trust.decide_residency")

    @admin.display(boolean=True, description=_("verified"))
    def verified(self, obj):
        return obj.is_verified_resident

    @admin.action(description=_("Verify residency (with a reason)"), permissions=["decide"])
    def verify_residency(self, request, queryset):
        return reason_action(
            self,
            request,
            queryset,
            title=_("Verify residency"),
            action="verify_residency",
            apply=lambda r, reason: services.residency_decide(
                moderator=request.user, resident=r, verify=True, reason=reason
            ),
            done=lambda n: ngettext("%(n)d resident verified.", "%(n)d residents verified.", n) % {"n": n},
        )

    @admin.action(description=_("Revoke residency (with a reason)"), permissions=["decide"])
    def revoke_residency(self, request, queryset):
        return reason_action(
            self,
            request,
            queryset,
            title=_("Revoke residency"),
            action="revoke_residency",
            apply=lambda r, reason: services.residency_decide(
                moderator=request.user, resident=r, verify=False, reason=reason
            ),
            done=lambda n: ngettext("%(n)d residency revoked.", "%(n)d residencies revoked.", n) % {"n": n},
        )


# --- Pledge claims --------------------------------------------------------------------------------------


@admin.register(PledgeClaim)
class PledgeClaimAdmin(ReadOnlyAdmin):
    area_paths = ("shop__",)
    list_display = ("pk", "shop", "pledge_kind", "buyer", "status", "escalation", "created_at", "escalated_at")
    list_filter = ("status", "escalation")
    search_fields = ("shop__name", "buyer__username", "buyer__display_name", "text")
    list_select_related = ("shop", "buyer", "pledge")
    ordering = ("escalated_at", "created_at")
    actions = ["uphold", "dismiss"]
    fields = (
        "deal",
        "shop",
        "buyer",
        "pledge",
        "text",
        "status",
        "created_at",
        "answered_at",
        "answered_by",
        "answer_reason",
        "disputed_at",
        "dispute_text",
        "escalated_at",
        "escalation",
        "resolved_at",
        "resolved_by",
        "resolution_reason",
    )
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        return (
            super().has_view_permission(request, obj) or request.user.has_perm("trust.resolve_claim")
        ) and self._in_scope(request, obj)

    def has_resolve_permission(self, request):
        return request.user.has_perm("trust.resolve_claim")

    @admin.display(description=_("pledge"), ordering="pledge__kind")
    def pledge_kind(self, obj):
        return obj.pledge.kind

    @admin.action(description=_("Uphold: the shop broke its pledge (with a reason)"), permissions=["resolve"])
    def uphold(self, request, queryset):
        return reason_action(
            self,
            request,
            queryset,
            title=_("Uphold the claims: the shop broke its pledge"),
            action="uphold",
            apply=lambda c, reason: services.claim_resolve(moderator=request.user, claim=c, upheld=True, reason=reason),
            done=lambda n: ngettext("%(n)d claim upheld.", "%(n)d claims upheld.", n) % {"n": n},
        )

    @admin.action(description=_("Dismiss: the shop was right (with a reason)"), permissions=["resolve"])
    def dismiss(self, request, queryset):
        return reason_action(
            self,
            request,
            queryset,
            title=_("Dismiss the claims: the shop was right"),
            action="dismiss",
            apply=lambda c, reason: services.claim_resolve(
                moderator=request.user, claim=c, upheld=False, reason=reason
            ),
            done=lambda n: ngettext("%(n)d claim dismissed.", "%(n)d claims dismissed.", n) % {"n": n},
        )


# --- History -------------------------------------------------------------------------------------------


@admin.register(Deal)
class DealAdmin(ReadOnlyAdmin):
    area_paths = ("shop__", "seller__")
    list_display = ("title", "seller", "shop", "buyer", "price", "status", "created_at", "answered_at")
    list_filter = ("status",)
    search_fields = ("title", "seller__username", "buyer__username", "shop__name")
    list_select_related = ("seller", "shop", "buyer")


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    area_paths = ("shop__", "subject__")
    show_moderation_history = True
    list_display = ("deal", "direction", "author", "subject", "shop", "stars", "created_at", "replied_at")
    list_filter = ("direction", "stars")
    search_fields = ("text", "reply", "author__username", "subject__username", "shop__name")
    list_select_related = ("deal", "author", "subject", "shop")


@admin.register(Vouch)
class VouchAdmin(ReadOnlyAdmin):
    area_paths = ("vouchee__",)
    list_display = ("voucher", "vouchee", "created_at", "withdrawn_at")
    search_fields = ("voucher__username", "vouchee__username")
    list_select_related = ("voucher", "vouchee")


@admin.register(Recognition)
class RecognitionAdmin(ReadOnlyAdmin):
    area_paths = ("resident__",)
    list_display = ("resident", "recognised", "created_at")
    search_fields = ("resident__username", "recognised__username")
    list_select_related = ("resident", "recognised")
