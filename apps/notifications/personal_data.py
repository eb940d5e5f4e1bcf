"""Notifications' part of a resident's data (apps/accounts/personal_data.py): all of it is theirs alone."""

from apps.accounts.personal_data import iso

from .models import EmailDelivery, Notification, NotificationPreferences


def export_for(resident) -> dict:
    prefs = NotificationPreferences.objects.filter(resident=resident).first()
    return {
        "notifications": [
            {"kind": n.kind, "params": n.params, "url": n.url, "at": iso(n.created_at), "read_at": iso(n.read_at)}
            for n in Notification.objects.filter(recipient=resident).order_by("created_at")
        ],
        "preferences": {
            f.name: getattr(prefs, f.attname) for f in NotificationPreferences._meta.concrete_fields if f.name != "id"
        }
        if prefs
        else None,
        "emails_sent": EmailDelivery.objects.filter(resident=resident).count(),
    }


def erase_for(resident) -> None:
    Notification.objects.filter(recipient=resident).delete()
    NotificationPreferences.objects.filter(resident=resident).delete()
    EmailDelivery.objects.filter(resident=resident).delete()
