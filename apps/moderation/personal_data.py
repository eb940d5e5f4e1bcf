"""Moderation's part of a resident's data: reports they filed, appeals they made.

Moderation records are kept (decisions must stay explainable and appealable, the audit log is
append-only); on erasure they point at the erased account, and the free-text notes of the
resident's reports are blanked. Appeals keep their text: it is the record of a decision's review."""

from apps.accounts.personal_data import iso

from .models import Appeal, ModeratorArea, Report


def export_for(resident) -> dict:
    return {
        "reports_filed": [
            {"reason": r.reason, "note": r.note, "object_id": r.object_id, "at": iso(r.created_at)}
            for r in Report.objects.filter(reporter=resident).order_by("created_at")
        ],
        "appeals": [
            {"text": a.text, "status": a.status, "at": iso(a.created_at), "answer": a.answer}
            for a in Appeal.objects.filter(appellant=resident).order_by("created_at")
        ],
    }


def erase_for(resident) -> None:
    Report.objects.filter(reporter=resident).update(note="")
    ModeratorArea.objects.filter(moderator=resident).delete()
