"""A resident's personal data: everything the site holds about them, and its erasure.

Each app that keeps data about residents has a module `personal_data.py` with two functions:

    export_for(resident) -> dict   # what the app holds about the resident, JSON-ready
    erase_for(resident) -> None    # erases it; runs inside the account deletion's transaction

found by name in every installed app (`parts()`). The account services (`services.resident_export`,
`services.resident_erase`) ask every part in turn; what each part keeps and why is in
docs/personal-data.md.
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.core.files.storage import default_storage
from django.db import transaction


def parts() -> dict:
    """{app label: its personal_data module}, in INSTALLED_APPS order."""
    found = {}
    for config in apps.get_app_configs():
        name = f"{config.name}.personal_data"
        if config.name.startswith("apps.") and find_spec(name) is not None:
            found[config.label] = import_module(name)
    return found


def iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def file_url(field) -> str | None:
    return field.url if field else None


def delete_files_on_commit(*names: str) -> None:
    """Removes stored files once the erasure has committed (a rollback keeps them)."""
    names = [n for n in names if n]
    if names:
        transaction.on_commit(lambda: [default_storage.delete(n) for n in names])


# --- The accounts app's own part ---------------------------------------------------------------------


def export_for(resident) -> dict:
    from apps.nearby import geo

    return {
        "username": resident.username,
        "email": resident.email,
        "display_name": resident.display_name,
        "bio": resident.bio,
        "language": resident.language,
        "avatar": file_url(resident.avatar),
        "home_area": format(resident.home_cell, "x") if resident.home_cell else None,
        "home_area_boundary": [list(p) for p in geo.cell_boundary(resident.home_cell)] if resident.home_cell else None,
        "radius_m": resident.radius_m,
        "date_joined": iso(resident.date_joined),
        "last_login": iso(resident.last_login),
        "residency_verified_at": iso(resident.residency_verified_at),
        "suspended_until": iso(resident.suspended_until),
        "share_acquaintances": resident.share_acquaintances,
        "failed_logins": [
            {"at": iso(a.attempt_time), "address": a.ip_address, "failures": a.failures_since_start}
            for a in _login_attempts(resident)
        ],
    }


def _login_attempts(resident):
    from axes.models import AccessAttempt

    return AccessAttempt.objects.filter(username=resident.username)


def erase_for(resident) -> None:
    # The profile itself is blanked by services.resident_erase; its unusable password also ends
    # every session (Django checks the password's hash on each request).
    _login_attempts(resident).delete()
    delete_files_on_commit(resident.avatar.name if resident.avatar else None)
