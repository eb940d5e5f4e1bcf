"""Chat's own message reports (before moderation had its queue) move into the moderators' queue.

Their weight is unknown (they were filed before weights existed), so they count 0: each lands as
an open case for a moderator to read, and nothing is hidden by them."""

import h3
from django.conf import settings
from django.db import migrations


def _area(message) -> int | None:
    resolution = settings.JIEFANG_MODERATION_AREA_RESOLUTION
    conversation = message.conversation
    cell = conversation.room_cell
    if cell is None:
        cell = message.shop.cell_r8 if message.shop_id else message.sender.home_cell
    if cell is None or h3.get_resolution(h3.int_to_str(cell)) < resolution:
        return None
    return h3.str_to_int(h3.cell_to_parent(h3.int_to_str(cell), resolution))


def forwards(apps, schema_editor):
    MessageReport = apps.get_model("chat", "MessageReport")
    ContentType = apps.get_model("contenttypes", "ContentType")
    Case = apps.get_model("moderation", "Case")
    Report = apps.get_model("moderation", "Report")
    if not MessageReport.objects.exists():
        return
    ct, _created = ContentType.objects.get_or_create(app_label="chat", model="message")
    for old in MessageReport.objects.select_related("message__conversation", "message__sender", "message__shop"):
        message = old.message
        title = f"{message.sender.display_name or message.sender.username}: {message.body or '[photo]'}"[:200]
        case = Case.objects.filter(content_type=ct, object_id=message.pk, status="open").first()
        if case is None:
            case = Case.objects.create(
                kind="message",
                content_type=ct,
                object_id=message.pk,
                area=_area(message),
                subject_id=message.sender_id,
                shop_id=message.shop_id,
                title=title,
                snapshot={"title": title, "text": message.body},
                top_reason=old.reason,
                opened_at=old.created_at,
                last_report_at=old.created_at,
            )
        if not Report.objects.filter(reporter_id=old.reporter_id, content_type=ct, object_id=message.pk).exists():
            Report.objects.create(
                case=case,
                reporter_id=old.reporter_id,
                content_type=ct,
                object_id=message.pk,
                reason=old.reason,
                note=old.note,
                weight=0,
                established=False,
                created_at=old.created_at,
            )
        case.reports_count = Report.objects.filter(case=case).count()
        case.last_report_at = max(case.last_report_at, old.created_at)
        case.save(update_fields=["reports_count", "last_report_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0002_audit_append_only"),
        ("chat", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
