from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from .models import Resident


@admin.register(Resident)
class ResidentAdmin(UserAdmin):
    list_display = ("username", "display_name", "email", "language", "is_staff", "date_joined")
    search_fields = ("username", "display_name", "email")
    fieldsets = (
        *UserAdmin.fieldsets,
        (_("Neighbourhood"), {"fields": ("display_name", "bio", "avatar", "language", "radius_m", "home_cell")}),
    )
    readonly_fields = ("home_cell",)
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "display_name", "password1", "password2")}),
    )
