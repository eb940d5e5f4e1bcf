"""A database guard for the audit log: rows are never updated; on PostgreSQL never deleted either.

SQLite gets no DELETE guard because the test suite's flush between transactional tests deletes
rows there, while PostgreSQL's flush truncates (which row triggers do not see)."""

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER moderation_audit_no_update BEFORE UPDATE ON moderation_auditentry
       BEGIN SELECT RAISE(ABORT, 'the moderation audit log is append-only'); END;""",
]
SQLITE_REVERSE = ["DROP TRIGGER IF EXISTS moderation_audit_no_update;"]

POSTGRES = [
    """CREATE OR REPLACE FUNCTION moderation_audit_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'the moderation audit log is append-only'; END; $$ LANGUAGE plpgsql;""",
    """CREATE TRIGGER moderation_audit_no_change BEFORE UPDATE OR DELETE ON moderation_auditentry
       FOR EACH ROW EXECUTE FUNCTION moderation_audit_append_only();""",
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS moderation_audit_no_change ON moderation_auditentry;",
    "DROP FUNCTION IF EXISTS moderation_audit_append_only();",
]


def forwards(apps, schema_editor):
    statements = {"sqlite": SQLITE, "postgresql": POSTGRES}.get(schema_editor.connection.vendor, [])
    for sql in statements:
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    statements = {"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}.get(schema_editor.connection.vendor, [])
    for sql in statements:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("moderation", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
