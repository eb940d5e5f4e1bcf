from django.contrib import admin

from apps.moderation.admin import AreaScopedAdminMixin

from .models import Stall, StallPhoto


class PhotoInline(admin.TabularInline):
    model = StallPhoto
    fields = ("image", "position")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Stall)
class StallAdmin(AreaScopedAdminMixin, admin.ModelAdmin):
    """Stalls as moderators see them: read-only here; hiding and restoring go through the report
    queue, so they are decided with a reason and land in the audit log."""

    list_display = ("title", "kind", "status", "seller", "shop", "price", "created_at", "expires_at")
    list_filter = ("status", "kind", "category", ("shop", admin.EmptyFieldListFilter))
    search_fields = ("title", "description", "seller__username", "seller__display_name", "shop__name")
    list_select_related = ("seller", "shop")
    date_hierarchy = "created_at"
    inlines = [PhotoInline]
    fields = (
        "title",
        "kind",
        "category",
        "description",
        "price",
        "currency",
        "quantity",
        "status",
        "seller",
        "shop",
        "starts_at",
        "expires_at",
        "created_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
