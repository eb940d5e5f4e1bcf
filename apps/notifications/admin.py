from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_replace
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from . import services
from .models import EmailDelivery, Notification, NotificationPreferences
from .selectors import digest_preview


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("recipient", "kind", "created_at", "read_at")
    list_filter = ("kind",)
    search_fields = ("recipient__username",)
    raw_id_fields = ("recipient",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(NotificationPreferences)
class NotificationPreferencesAdmin(admin.ModelAdmin):
    list_display = ("resident", "digest", "digest_hour", "digest_weekday", "time_zone", "preview_link")
    list_filter = ("digest", "time_zone")
    search_fields = ("resident__username", "resident__email")
    raw_id_fields = ("resident",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Residents change their own through the settings page (the service checks the rules).
        return False

    @admin.display(description=_("next digest"))
    def preview_link(self, obj):
        url = reverse("admin:notifications_emaildelivery_preview") + f"?resident={obj.resident_id}"
        return format_html('<a href="{}">{}</a>', url, _("preview"))


@admin.register(EmailDelivery)
class EmailDeliveryAdmin(admin.ModelAdmin):
    """Every e-mail owed: failures (a bounced address, a mail server that kept refusing) stay here
    with the server's answer, and can be sent again."""

    list_display = ("resident", "kind", "period", "status", "attempts", "smtp_code", "short_error", "finished_at")
    list_filter = ("status", "kind")
    search_fields = ("resident__username", "resident__email", "period")
    date_hierarchy = "created_at"
    raw_id_fields = ("resident", "notification")
    actions = ["requeue"]
    change_list_template = "admin/notifications/emaildelivery/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("error"))
    def short_error(self, obj):
        return (obj.error[:80] + "…") if len(obj.error) > 80 else obj.error

    @admin.action(description=_("Send the selected failed e-mails again"))
    def requeue(self, request, queryset):
        moved = sum(services.delivery_requeue(delivery_id=pk) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, _("%(n)d e-mails queued again.") % {"n": moved}, messages.SUCCESS)

    def get_urls(self):
        # The e-mail's HTML (in a sandboxed srcdoc frame) styles itself inline, as e-mail must: this
        # page alone lets inline styles through the site's Content-Security-Policy.
        view = csp_replace({"style-src": ["'self'", UNSAFE_INLINE]})(self.preview_view)
        preview = path("preview/", self.admin_site.admin_view(view), name="notifications_emaildelivery_preview")
        return [preview, *super().get_urls()]

    def preview_view(self, request):
        """Any resident's next digest, exactly as it would be sent now (nothing is recorded)."""
        query = request.GET.get("resident", "").strip()
        context = {**self.admin_site.each_context(request), "title": _("Digest preview"), "query": query}
        if query:
            residents = get_user_model().objects.all()
            lookup = Q(username__iexact=query) | Q(email__iexact=query)
            if query.isdigit():
                lookup |= Q(pk=int(query))
            resident = residents.filter(lookup).first()
            if resident is None:
                context["not_found"] = True
            else:
                digest, message, prefs = digest_preview(resident=resident)
                context.update({"resident": resident, "digest": digest, "prefs": prefs, "message": message})
                if message is not None:
                    context["html"] = message.alternatives[0][0]
                    context["headers"] = sorted(message.extra_headers.items())
        return TemplateResponse(request, "admin/notifications/digest_preview.html", context)
