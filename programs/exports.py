"""CSV exports for managers: members with their balances, and the ledger.

Rows are streamed from the database in chunks, so an export of any size uses little memory and
a handful of queries. Amounts are plain decimal strings and times ISO 8601 in the shop's time
zone, so that a spreadsheet or another system reads them without guessing.
"""

import csv

from django.db.models import F
from django.utils import timezone

from .models import LedgerEntry, Membership

CHUNK = 2000

MEMBER_COLUMNS = [
    "member_number", "email", "name", "phone", "joined_at", "program", "balance", "pending",
    "points_owed", "lifetime_earned", "last_activity_at",
]
LEDGER_COLUMNS = [
    "entry_id", "created_at", "member_number", "program", "kind", "points", "balance_after",
    "store", "receipt", "refund", "reward_code", "staff", "reason",
]


def _iso(moment):
    return timezone.localtime(moment).isoformat() if moment else ""


def member_rows():
    memberships = (
        Membership.objects.order_by("member__number", "program__slug")
        .values_list("member__number", "member__user__email", "member__user__name",
                     "member__user__phone", "member__joined_at", "program__slug", "balance",
                     "pending", "points_owed", "lifetime_earned", "last_activity_at")
    )
    for row in memberships.iterator(chunk_size=CHUNK):
        (number, email, name, phone, joined, program, balance, pending, owed, earned, active) = row
        yield [number, email, name, phone, _iso(joined), program, balance, pending, owed, earned,
               _iso(active)]


def ledger_rows(*, since=None, until=None):
    entries = LedgerEntry.objects.order_by("pk")
    if since:
        entries = entries.filter(created_at__gte=since)
    if until:
        entries = entries.filter(created_at__lt=until)
    entries = entries.values_list(
        "pk", "created_at", F("membership__member__number"), F("membership__program__slug"),
        "kind", "points", "balance_after", F("purchase__store__code"), F("purchase__external_id"),
        F("refund__external_id"), F("redemption__code"), F("actor__email"), "reason",
    )
    for row in entries.iterator(chunk_size=CHUNK):
        (pk, created, number, program, kind, points, after, store, receipt, refund, code, staff,
         reason) = row
        yield [pk, _iso(created), number, program, kind, points, after, store or "", receipt or "",
               refund or "", code or "", staff or "", reason]


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value):
        return value


def csv_lines(columns, rows):
    writer = csv.writer(_Echo())
    yield "\ufeff"  # a byte-order mark, so that spreadsheet programs read UTF-8 names correctly
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow(row)
