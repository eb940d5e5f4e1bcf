"""The one way into the audit log. Called inside the transaction of the action it records, so an
action and its entry are committed together or not at all."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType

from .models import AuditEntry


def audit_record(
    *,
    actor,
    action: str,
    obj=None,
    object_repr: str = "",
    area: int | None = None,
    reason: str = "",
    before: dict | None = None,
    after: dict | None = None,
    case=None,
    decision=None,
) -> AuditEntry:
    """`actor` None is the system itself (an automatic hide, a suspension that ended)."""
    actor = actor if actor is not None and actor.is_authenticated else None
    return AuditEntry.objects.create(
        actor=actor,
        actor_name=f"{actor} (@{actor.username})"[:200] if actor is not None else "",
        action=action,
        content_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
        object_id=obj.pk if obj is not None else None,
        object_repr=(object_repr or (str(obj) if obj is not None else ""))[:200],
        area=area,
        reason=reason,
        before=before or {},
        after=after or {},
        case=case,
        decision=decision,
    )
