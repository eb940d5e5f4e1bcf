from django.contrib import admin, messages
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.core.errors import DomainError
from apps.moderation.admin import AreaScopedAdminMixin, ShopSanctionsMixin

from . import pledges, services
from .models import OpeningException, OpeningHours, Shop, ShopPhoto, ShopPledge


class ReadOnlyInline(admin.TabularInline):
    """What the shopkeeper maintains is shown here, and changed only through the shop's own pages."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PhotoInline(ReadOnlyInline):
    model = ShopPhoto
    fields = ("image", "position")


class HoursInline(ReadOnlyInline):
    model = OpeningHours
    fields = ("weekday", "opens", "closes")


class ExceptionInline(ReadOnlyInline):
    model = OpeningException
    fields = ("date", "closed", "opens", "closes", "note")


class PledgeInline(ReadOnlyInline):
    model = ShopPledge
    fields = ("kind", "terms", "is_active", "created_at", "withdrawn_at")
    readonly_fields = fields


@admin.register(Shop)
class ShopAdmin(AreaScopedAdminMixin, ShopSanctionsMixin, admin.ModelAdmin):
    list_display = ("name", "category", "owner", "licence_number", "is_verified", "followers", "created_at")
    list_filter = ("is_verified", "category", "time_zone")
    search_fields = ("name", "address", "licence_number", "owner__username", "owner__display_name", "phone")
    date_hierarchy = "created_at"
    list_select_related = ("owner",)
    actions = ["verify", "unverify"]
    inlines = [PhotoInline, HoursInline, ExceptionInline, PledgeInline]
    # Rule-bearing fields change only through services: the licence (it resets the badge), the place
    # (its cells must move with it) and verification (through the actions, which record who and when).
    readonly_fields = (
        "owner",
        "licence_number",
        "lat",
        "lng",
        "time_zone",
        "is_verified",
        "verified_at",
        "verified_by",
        "suspended_until",
        "created_at",
        "updated_at",
    )
    fields = (
        "name",
        "category",
        "description",
        "address",
        "phone",
        "contact_note",
        *readonly_fields,
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(followers_count=Count("follows"))

    def has_add_permission(self, request):
        # A shop is registered by its keeper on the site: its place is chosen on a map there.
        return False

    @admin.display(description=_("followers"), ordering="followers_count")
    def followers(self, obj):
        return obj.followers_count

    def _each(self, request, queryset, service, done_message):
        done = 0
        for shop in queryset:
            try:
                service(shop=shop, moderator=request.user)
            except DomainError as exc:
                self.message_user(request, f"{shop}: {exc.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, done_message(done), messages.SUCCESS)

    @admin.action(description=_("Verify the selected shops (licence checked)"), permissions=["verify"])
    def verify(self, request, queryset):
        self._each(
            request,
            queryset,
            services.shop_verify,
            lambda n: ngettext("%(n)d shop verified.", "%(n)d shops verified.", n) % {"n": n},
        )

    @admin.action(description=_("Take the verified badge away"), permissions=["verify"])
    def unverify(self, request, queryset):
        self._each(
            request,
            queryset,
            services.shop_unverify,
            lambda n: ngettext("%(n)d shop unverified.", "%(n)d shops unverified.", n) % {"n": n},
        )

    def has_verify_permission(self, request):
        return request.user.has_perm("shops.verify_shop")


@admin.register(ShopPledge)
class ShopPledgeAdmin(admin.ModelAdmin):
    """Pledge rows are the record claims rely on: readable here, never edited."""

    list_display = ("shop", "kind_title", "terms", "is_active", "created_at", "withdrawn_at")
    list_filter = ("kind", "is_active")
    search_fields = ("shop__name",)
    list_select_related = ("shop",)

    @admin.display(description=_("pledge"), ordering="kind")
    def kind_title(self, obj):
        kind = pledges.CATALOGUE.get(obj.kind)
        return kind.title if kind else obj.kind

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
