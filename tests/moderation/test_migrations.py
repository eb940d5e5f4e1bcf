"""Chat's message reports, filed before the moderators' queue existed, move into it."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("chat", "0001_initial"), ("moderation", "0002_audit_append_only")]
AFTER = [("chat", "0002_message_reports_to_moderation")]


@pytest.mark.django_db(transaction=True)
def test_chat_reports_become_cases_in_the_queue():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(BEFORE)
        old = executor.loader.project_state(BEFORE).apps
        Resident = old.get_model("accounts", "Resident")
        Conversation = old.get_model("chat", "Conversation")
        Message = old.get_model("chat", "Message")
        MessageReport = old.get_model("chat", "MessageReport")
        alice = Resident.objects.create(username="alice", email="a@example.org", display_name="Alice")
        bob = Resident.objects.create(username="bob", email="b@example.org", display_name="Bob")
        carol = Resident.objects.create(username="carol", email="c@example.org", display_name="Carol")
        conversation = Conversation.objects.create(kind="direct", resident_a=alice, resident_b=bob)
        message = Message.objects.create(conversation=conversation, seq=1, sender=bob, client_msg_id="1", body="scam!")
        MessageReport.objects.create(message=message, reporter=alice, reason="scam", note="asked for money")
        MessageReport.objects.create(message=message, reporter=carol, reason="spam")

        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps
        Case = new.get_model("moderation", "Case")
        Report = new.get_model("moderation", "Report")
        case = Case.objects.get()
        assert (case.kind, case.object_id, case.status, case.reports_count) == ("message", message.pk, "open", 2)
        assert case.subject_id == bob.pk and case.title == "Bob: scam!" and case.weight == 0
        assert sorted(Report.objects.values_list("reason", "note")) == [("scam", "asked for money"), ("spam", "")]
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
