"""Side effects on sockets: closing them when a session ends or an account is suspended.

Only the live connections are touched here; no chat data changes.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_save
from django.dispatch import receiver

from . import events


@receiver(user_logged_out, dispatch_uid="chat_close_sockets_on_logout")
def close_sockets_on_logout(sender, request, user, **kwargs):
    if user is None:
        return
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    events.sockets_close_on_commit(user_id=user.pk, reason="logout", session_key=session_key)


@receiver(post_save, sender=get_user_model(), dispatch_uid="chat_close_sockets_on_suspension")
def close_sockets_of_suspended(sender, instance, created, **kwargs):
    # A ban deactivates the account; a suspension sets `suspended_until` (moderation's services).
    if not created and (not instance.is_active or instance.is_suspended):
        events.sockets_close_on_commit(user_id=instance.pk, reason="suspended")
