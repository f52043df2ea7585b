"""The database refuses two leases of one unit, pending signature or active, that overlap.

PostgreSQL: an exclusion constraint over (unit, [start, end)) with btree_gist. Creating
the extension needs a role allowed to (a superuser, or the database owner on PG 13+ as
btree_gist is trusted).

SQLite: triggers that abort an insert or update making such an overlap. SQLite has one
writer at a time and City opens write transactions IMMEDIATE, so the trigger's look at the
other leases cannot be outrun by a concurrent writer. SQLite drops a table's triggers when
Django rebuilds the table, so a later migration that alters leasing_lease on SQLite must
create them again (from SQLITE here).
"""

from django.db import migrations

HOLDING = "('pending_signature', 'active')"

POSTGRESQL = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    f"""ALTER TABLE leasing_lease ADD CONSTRAINT leasing_lease_no_overlap
        EXCLUDE USING gist (unit_id WITH =, daterange(start_date, end_date, '[)') WITH &&)
        WHERE (status IN {HOLDING})""",
]
POSTGRESQL_REVERSE = ["ALTER TABLE leasing_lease DROP CONSTRAINT leasing_lease_no_overlap"]

_SQLITE_TRIGGER = f"""CREATE TRIGGER leasing_lease_no_overlap_{{event}}
    BEFORE {{event_clause}} ON leasing_lease
    WHEN NEW.status IN {HOLDING}
    BEGIN
        SELECT RAISE(ABORT, 'leasing_lease_no_overlap: the unit is leased in that period')
        WHERE EXISTS (
            SELECT 1 FROM leasing_lease AS other
            WHERE other.unit_id = NEW.unit_id
              AND other.id IS NOT NEW.id
              AND other.status IN {HOLDING}
              AND (NEW.end_date IS NULL OR other.start_date < NEW.end_date)
              AND (other.end_date IS NULL OR NEW.start_date < other.end_date)
        );
    END"""
SQLITE = [
    _SQLITE_TRIGGER.format(event="insert", event_clause="INSERT"),
    _SQLITE_TRIGGER.format(
        event="update", event_clause="UPDATE OF unit_id, start_date, end_date, status"
    ),
]
SQLITE_REVERSE = [
    "DROP TRIGGER leasing_lease_no_overlap_insert",
    "DROP TRIGGER leasing_lease_no_overlap_update",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor not in statements_by_vendor:
            raise NotImplementedError(f"No double-booking guarantee written for {vendor}.")
        for statement in statements_by_vendor[vendor]:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("leasing", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
