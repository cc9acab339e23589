"""On PostgreSQL, the database itself refuses to change or delete a ledger entry.

The ledger is append-only: a correction is a new entry. The trigger makes a bug (or a hand
in psql) that tries otherwise fail loudly instead of rewriting history. SQLite, the embedded
development default, has no such guard.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION programs_ledger_entry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only: % refused on entry %', TG_OP, OLD.id;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER programs_ledger_entry_append_only
    BEFORE UPDATE OR DELETE ON programs_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION programs_ledger_entry_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS programs_ledger_entry_append_only ON programs_ledgerentry;
DROP FUNCTION IF EXISTS programs_ledger_entry_append_only();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("programs", "0002_points_ledger_rewards_and_api_keys")]
    operations = [migrations.RunPython(create, drop)]
