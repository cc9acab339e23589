"""The ledger's mechanics: locking, crediting and debiting points, lots, expiry and release.

Everything here expects to run inside a transaction that holds the membership row lock
(`lock_memberships`), except the set-based jobs at the bottom, which take the locks themselves.
Services in programs.services call these; nothing else should.

The invariant kept by every function: balance = sum of entries = sum of lots' remaining -
points_owed; pending = sum of remaining of pending lots; no lot below zero.
"""

from dateutil.relativedelta import relativedelta
from django.db import connection, transaction
from django.db.models import F

from . import signals
from .models import LedgerEntry, LotDraw, Membership, PointLot, Program


class InsufficientPoints(Exception):
    def __init__(self, available):
        super().__init__(f"only {available} points available")
        self.available = available


def lock_memberships(member, programs):
    """Get (creating if needed) and lock the member's memberships of `programs`, by id order,
    each with `.program` and `.member` set to the objects given.

    Locking in id order means two transactions never wait for each other in a circle.
    """
    by_id = {program.pk: program for program in programs}
    if not by_id:
        return {}
    # Raw SQL, as every purchase runs it and the ORM's building of the statement cost more CPU
    # than the database's work. FOR UPDATE locks the membership rows only (SQLite has no row
    # locks: it serialises writers anyway).
    # Only placeholders and fixed words go into the text; the values are parameters.
    sql = (f"SELECT * FROM {Membership._meta.db_table} WHERE member_id = %s AND program_id IN "  # noqa: S608
           f"({', '.join(['%s'] * len(by_id))}) ORDER BY id"
           f"{' FOR UPDATE' if connection.features.has_select_for_update else ''}")

    def locked():
        found = {}
        for membership in Membership.objects.raw(sql, [member.pk, *by_id]):
            membership.program = by_id[membership.program_id]
            membership.member = member
            found[membership.program_id] = membership
        return found

    memberships = locked()
    missing = [program for program in programs if program.pk not in memberships]
    if missing:
        for program in missing:
            Membership.objects.get_or_create(member=member, program=program)
        memberships = locked()
    return memberships


def lot_expiry(program, now):
    if program.expiry == Program.Expiry.NEVER:
        return None
    return now + relativedelta(months=program.expiry_months)


def record_activity(membership, now):
    """Note activity; under 'after inactivity' expiry every live lot's clock starts again."""
    membership.last_activity_at = now
    if membership.program.expiry == Program.Expiry.AFTER_INACTIVITY:
        PointLot.objects.filter(membership=membership, remaining__gt=0).update(
            expires_at=lot_expiry(membership.program, now)
        )


def save_totals(membership):
    membership.save(update_fields=[
        "balance", "pending", "points_owed", "lifetime_earned", "last_activity_at",
    ])


def _new_lot(membership, points, *, now, pending_until=None, counts_as_earned=True, purchase=None):
    """The lot that credits `points`, not saved yet, with the membership's totals moved in
    memory: what the member owes is paid off from it first. `credit` and `credit_many` share it."""
    paid_off = min(membership.points_owed, points)
    membership.points_owed -= paid_off
    lot = PointLot(
        membership=membership, points=points, remaining=points - paid_off,
        is_pending=pending_until is not None and pending_until > now,
        available_at=pending_until or now, expires_at=lot_expiry(membership.program, now),
        purchase=purchase, created_at=now,
    )
    if lot.is_pending:
        membership.pending += lot.remaining
    if counts_as_earned:
        membership.lifetime_earned += points
    membership.balance += points
    return lot


def credit(membership, points, kind, *, now, pending_until=None, counts_as_earned=True, **cause):
    """Add points as a new lot; what the member owes is paid off from it first."""
    lot = _new_lot(membership, points, now=now, pending_until=pending_until,
                   counts_as_earned=counts_as_earned, purchase=cause.get("purchase"))
    lot.save()
    record_activity(membership, now)
    return _announced(LedgerEntry.objects.create(
        membership=membership, kind=kind, points=points, balance_after=membership.balance,
        created_at=now, lot=lot, **cause,
    ))


def _announced(entry):
    signals.points_changed.send(sender=LedgerEntry, entry=entry)
    return entry


def spendable_lots(membership):
    """Available lots, the soonest to expire first (lots that never expire last)."""
    return PointLot.objects.filter(
        membership=membership, remaining__gt=0, is_pending=False
    ).order_by(F("expires_at").asc(nulls_last=True), "created_at", "pk")


def debit(membership, points, kind, *, now, sources=None, may_owe=False, **cause):
    """Take points from lots in the order of `sources` (querysets; default: spendable lots).

    Raises InsufficientPoints when the lots hold too few, unless `may_owe`: then the rest is
    owed and the balance goes below zero.
    """
    sources = sources if sources is not None else [spendable_lots(membership)]
    needed, draws, taken_from = points, [], set()
    for lots in sources:
        for lot in lots.exclude(pk__in=taken_from).iterator(chunk_size=200):
            if needed == 0:
                break
            take = min(lot.remaining, needed)
            if take <= 0:
                continue
            draws.append((lot, take))
            taken_from.add(lot.pk)
            needed -= take
        if needed == 0:
            break
    if needed and not may_owe:
        raise InsufficientPoints(points - needed)
    for lot, take in draws:
        PointLot.objects.filter(pk=lot.pk).update(remaining=F("remaining") - take)
        if lot.is_pending:
            membership.pending -= take
    membership.points_owed += needed
    membership.balance -= points
    record_activity(membership, now)
    entry = LedgerEntry.objects.create(
        membership=membership, kind=kind, points=-points, balance_after=membership.balance,
        created_at=now, **cause,
    )
    LotDraw.objects.bulk_create([LotDraw(entry=entry, lot=lot, points=take) for lot, take in draws])
    return _announced(entry)


def restore(membership, entry, kind, *, now, **cause):
    """Give back what `entry` took, to the very lots it came from (their expiry unchanged).

    What the member owes is paid off first, as when points are earned: points owed and points
    in lots never stand side by side.
    """
    points = 0
    for draw in entry.draws.select_related("lot"):
        paid_off = min(membership.points_owed, draw.points)
        membership.points_owed -= paid_off
        refill = draw.points - paid_off
        if refill:
            PointLot.objects.filter(pk=draw.lot_id).update(remaining=F("remaining") + refill)
            if draw.lot.is_pending:
                membership.pending += refill
        points += draw.points
    owed_back = -entry.points - points
    if owed_back:
        # What was owed rather than drawn is forgiven rather than credited.
        membership.points_owed -= min(owed_back, membership.points_owed)
    membership.balance += -entry.points
    return _announced(LedgerEntry.objects.create(
        membership=membership, kind=kind, points=-entry.points, balance_after=membership.balance,
        created_at=now, **cause,
    ))


def credit_many(credits, kind, *, now, counts_as_earned=True, reason="", actor=None):
    """`credit` for many memberships at once, set-based: [(membership, points, cause_key)],
    each membership at most once, every lot available at once.

    Memberships not yet saved are created with their totals; saved ones must be locked by the
    caller (lock_memberships or select_for_update) and are updated. What a member owes is paid
    off first, as `credit` does. Returns the entries.
    """
    lots = []
    for membership, points, _key in credits:
        lots.append(_new_lot(membership, points, now=now, counts_as_earned=counts_as_earned))
        membership.last_activity_at = now
    saved = [m for m, _points, _key in credits if m.pk is not None]
    Membership.objects.bulk_create([m for m, _points, _key in credits if m.pk is None], batch_size=BATCH)
    Membership.objects.bulk_update(saved, ["balance", "points_owed", "lifetime_earned",
                                           "last_activity_at"], batch_size=1000)
    # Under 'after inactivity' expiry, activity restarts the clock of every live lot (record_activity).
    restart = {}
    for m in saved:
        if m.program.expiry == Program.Expiry.AFTER_INACTIVITY:
            restart.setdefault(m.program, []).append(m.pk)
    for program, ids in restart.items():
        for start in range(0, len(ids), BATCH):
            PointLot.objects.filter(membership_id__in=ids[start:start + BATCH], remaining__gt=0).update(
                expires_at=lot_expiry(program, now))
    PointLot.objects.bulk_create(lots, batch_size=BATCH)
    return LedgerEntry.objects.bulk_create([
        LedgerEntry(membership=membership, kind=kind, points=points, balance_after=membership.balance,
                    created_at=now, lot=lot, cause_key=key, reason=reason, actor=actor)
        for (membership, points, key), lot in zip(credits, lots, strict=True)
    ], batch_size=BATCH)


# --- Set-based nightly work ----------------------------------------------------------------

# Memberships handled per transaction: small enough that a till never waits long on a lock.
BATCH = 5000


def _batches(due_lots):
    """Ranges (first, last) of membership ids with due lots, BATCH memberships each."""
    ids = list(due_lots.values_list("membership_id", flat=True).distinct().order_by("membership_id"))
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        yield chunk[0], chunk[-1]


def _lock_range(first, last):
    list(Membership.objects.select_for_update().filter(pk__gte=first, pk__lte=last)
         .order_by("pk").values_list("pk", flat=True))


LOT = PointLot._meta.db_table
ENTRY = LedgerEntry._meta.db_table
MEMBERSHIP = Membership._meta.db_table


def expire_due_lots(*, now):
    """Expire every available lot whose time has come. Returns (lots, points) expired.

    Set-based: per range of memberships, lock them, insert one 'expire' entry per lot with the
    running balance computed by a window function, lower the balances, and empty the lots.
    Running it twice expires nothing the second time.
    """
    lots_total = points_total = 0
    due = ("l.remaining > 0 AND l.is_pending = %s AND l.expires_at <= %s "
           "AND l.membership_id BETWEEN %s AND %s")
    for first, last in _batches(PointLot.objects.filter(
            remaining__gt=0, is_pending=False, expires_at__lte=now)):
        params = [False, now, first, last]
        with transaction.atomic(), connection.cursor() as cursor:
            _lock_range(first, last)
            cursor.execute(
                f"""
                INSERT INTO {ENTRY} (membership_id, kind, points, balance_after, created_at, lot_id,
                                     reason)
                SELECT l.membership_id, 'expire', -l.remaining,
                       m.balance - SUM(l.remaining) OVER (
                           PARTITION BY l.membership_id ORDER BY l.id ROWS UNBOUNDED PRECEDING),
                       %s, l.id, ''
                FROM {LOT} l JOIN {MEMBERSHIP} m ON m.id = l.membership_id
                WHERE {due}
                """,  # noqa: S608 - table names from the models, values as parameters
                [now, *params],
            )
            lots_total += cursor.rowcount
            cursor.execute(
                f"""
                UPDATE {MEMBERSHIP} SET balance = balance - d.total
                FROM (SELECT l.membership_id, SUM(l.remaining) AS total FROM {LOT} l
                      WHERE {due} GROUP BY l.membership_id) AS d
                WHERE {MEMBERSHIP}.id = d.membership_id
                """,  # noqa: S608
                params,
            )
            cursor.execute(f"SELECT COALESCE(SUM(l.remaining), 0) FROM {LOT} l WHERE {due}",  # noqa: S608
                           params)
            points_total += cursor.fetchone()[0]
            cursor.execute(
                f"UPDATE {LOT} SET remaining = 0 "  # noqa: S608
                f"WHERE id IN (SELECT l.id FROM {LOT} l WHERE {due})",
                params,
            )
    return lots_total, int(points_total)


def release_due_lots(*, now):
    """Make pending points spendable once their return window has passed. Returns lots released."""
    released = 0
    due = "l.is_pending = %s AND l.available_at <= %s AND l.membership_id BETWEEN %s AND %s"
    for first, last in _batches(PointLot.objects.filter(is_pending=True, available_at__lte=now)):
        params = [True, now, first, last]
        with transaction.atomic(), connection.cursor() as cursor:
            _lock_range(first, last)
            cursor.execute(
                f"""
                UPDATE {MEMBERSHIP} SET pending = pending - d.total
                FROM (SELECT l.membership_id, SUM(l.remaining) AS total FROM {LOT} l
                      WHERE {due} GROUP BY l.membership_id) AS d
                WHERE {MEMBERSHIP}.id = d.membership_id
                """,  # noqa: S608
                params,
            )
            cursor.execute(
                f"UPDATE {LOT} SET is_pending = %s "  # noqa: S608
                f"WHERE id IN (SELECT l.id FROM {LOT} l WHERE {due})",
                [False, *params],
            )
            released += cursor.rowcount
    return released
