from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from apps.moderation.admin import AreaScopedAdminMixin, ResidentSanctionsMixin

from .models import Resident


@admin.register(Resident)
class ResidentAdmin(AreaScopedAdminMixin, ResidentSanctionsMixin, UserAdmin):
    list_display = ("username", "display_name", "email", "language", "is_staff", "date_joined")
    list_filter = (*UserAdmin.list_filter, ("residency_verified_at", admin.EmptyFieldListFilter))
    search_fields = ("username", "display_name", "email")
    fieldsets = (
        *UserAdmin.fieldsets,
        (_("Neighbourhood"), {"fields": ("display_name", "bio", "avatar", "language", "radius_m", "home_cell")}),
        (_("Standing"), {"fields": ("residency_verified_at", "suspended_until", "moderation_history")}),
    )
    readonly_fields = ("home_cell", "residency_verified_at", "suspended_until")
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "display_name", "password1", "password2")}),
    )
