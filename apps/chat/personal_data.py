"""Chat's part of a resident's data: the messages they wrote, the conversations they are in, blocks.

On erasure their messages keep their place in the others' conversations (the others keep their side
of the talk) but lose their words and photos; the sender shows as the erased account."""

from apps.accounts.personal_data import delete_files_on_commit, file_url, iso

from .models import Block, Member, Message


def export_for(resident) -> dict:
    return {
        "conversations": sorted(Member.objects.filter(resident=resident).values_list("conversation_id", flat=True)),
        "messages_sent": [
            {
                "conversation": m.conversation_id,
                "seq": m.seq,
                "body": m.body,
                "photo": file_url(m.photo),
                "at": iso(m.created_at),
            }
            for m in Message.objects.filter(sender=resident).order_by("conversation_id", "seq")
        ],
        "blocked": sorted(Block.objects.filter(blocker=resident).values_list("blocked_id", flat=True)),
    }


def erase_for(resident) -> None:
    sent = Message.objects.filter(sender=resident)
    delete_files_on_commit(*sent.exclude(photo="").values_list("photo", flat=True))
    sent.update(body="", photo="")
    Block.objects.filter(blocker=resident).delete()
