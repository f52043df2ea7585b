"""The chaos run's audit: what the database says was lost, once the work has drained.

Run inside the topology's Django (`manage.py shell -c "from deploy.chaos_audit import
main; main()"`), it reads on stdin what the clients saw (documents accepted, and the
failed POSTs' effects to check) and prints one JSON object. It reads every service's
tables with SQL, as an operator would: it is a check of the whole deployment, from
outside any service, so the rule that a service reads only its own tables is not its.
"""

import json
import sys

from django.db import connection

HOLDING = ("pending_signature", "active")
NOT_YET_PROCESSED = ("pending", "processing")


def main() -> None:
    given = json.load(sys.stdin)
    with connection.cursor() as cursor:
        report = {
            "documents": _documents(cursor, given["accepted_documents"]),
            "outbox_unsent": _outbox(cursor, "sent_at IS NULL"),
            # Dead-lettered ones included: given up on is lost too.
            "outbox_undelivered": _outbox(cursor, "sent_at IS NOT NULL AND delivered_at IS NULL"),
            "activated_without_welcome": _scalar(
                cursor,
                "SELECT COUNT(*) FROM leasing_lease lease WHERE lease.activated_at IS NOT NULL "
                "AND NOT EXISTS (SELECT 1 FROM greeter_welcome welcome "
                "WHERE welcome.lease_id = lease.id)",
            ),
            "activated_leases": _scalar(
                cursor, "SELECT COUNT(*) FROM leasing_lease WHERE activated_at IS NOT NULL"
            ),
            "double_bookings": _double_bookings(cursor),
            "effects": [_took_effect(cursor, effect) for effect in given["effects"]],
        }
    print(json.dumps(report))


def _scalar(cursor, sql: str, params: tuple = ()) -> int:
    cursor.execute(sql, params)
    return cursor.fetchone()[0]


def _documents(cursor, accepted: list[int]) -> dict:
    """Of the documents the API accepted (202): missing, or still waiting to be processed;
    and, in the whole database, any document still waiting (one whose answer was lost)."""
    statuses: dict[int, str] = {}
    for start in range(0, len(accepted), 500):  # bounded IN lists
        chunk = accepted[start : start + 500]
        marks = ", ".join(["%s"] * len(chunk))
        cursor.execute(f"SELECT id, status FROM documents_document WHERE id IN ({marks})", chunk)  # noqa: S608 - only placeholders
        statuses.update(cursor.fetchall())
    waiting = ", ".join(["%s"] * len(NOT_YET_PROCESSED))
    return {
        "accepted": len(accepted),
        "missing": sum(document not in statuses for document in accepted),
        "unprocessed": sum(status in NOT_YET_PROCESSED for status in statuses.values()),
        "failed": sum(status == "failed" for status in statuses.values()),
        "unprocessed_anywhere": _scalar(
            cursor,
            f"SELECT COUNT(*) FROM documents_document WHERE status IN ({waiting})",  # noqa: S608
            NOT_YET_PROCESSED,
        ),
    }


def _outbox(cursor, condition: str) -> int:
    """Outbox events in `condition`."""
    return _scalar(cursor, f"SELECT COUNT(*) FROM city_outboxevent WHERE {condition}")  # noqa: S608 - our own conditions


def _double_bookings(cursor) -> int:
    """Pairs of leases that hold the same unit over overlapping periods (end exclusive,
    null open-ended): what the database's constraint exists to make impossible."""
    holding = ", ".join(["%s"] * len(HOLDING))
    return _scalar(
        cursor,
        "SELECT COUNT(*) FROM leasing_lease a JOIN leasing_lease b "  # noqa: S608
        "ON a.unit_id = b.unit_id AND a.id < b.id "
        f"WHERE a.status IN ({holding}) AND b.status IN ({holding}) "
        "AND (b.end_date IS NULL OR a.start_date < b.end_date) "
        "AND (a.end_date IS NULL OR b.start_date < a.end_date)",
        HOLDING + HOLDING,
    )


# What a failed POST would have changed, if it took effect after all.
_EFFECTS = {
    "user": ("SELECT COUNT(*) FROM auth_user WHERE username = %s", ("username",)),
    "document": (
        "SELECT COUNT(*) FROM documents_document WHERE original_name = %s",
        ("original_name",),
    ),
    "lease_drawn": (
        "SELECT COUNT(*) FROM leasing_lease WHERE unit_id = %s AND tenant_id = %s "
        "AND start_date = %s AND end_date = %s",
        ("unit", "tenant", "start_date", "end_date"),
    ),
    "lease_sent": (
        "SELECT COUNT(*) FROM leasing_lease WHERE id = %s AND status <> 'draft'",
        ("lease",),
    ),
    "lease_signed": (
        "SELECT COUNT(*) FROM leasing_lease WHERE id = %s AND signed_at IS NOT NULL",
        ("lease",),
    ),
    "lease_activated": (
        "SELECT COUNT(*) FROM leasing_lease WHERE id = %s AND activated_at IS NOT NULL",
        ("lease",),
    ),
}


def _took_effect(cursor, effect: dict) -> bool:
    sql, fields = _EFFECTS[effect["kind"]]
    return _scalar(cursor, sql, tuple(effect[name] for name in fields)) > 0
