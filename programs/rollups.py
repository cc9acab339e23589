"""The daily roll-ups that the dashboard's metrics read: the points ledger and purchases.

`roll_up_points()` sums each closed day's entries (days in the shop's time zone, before today)
per program and kind into PointsDay, and marks the day done. Entries are written at the moment
they happen and never changed, so a closed day's sums never change: each run only adds the
days since the last marked one, and running it twice adds nothing the second time.

`roll_up_purchases()` sums each closed day's purchases per member and store into PurchaseDay.
Unlike ledger entries, a closed day's purchases can still change: a till that was offline sends
its receipts late, and a refund lowers an old purchase's sales. So each run also writes again
the rows of every (member, store, day) that such a change touched since the last run. A row is
always computed whole from the purchases, so running twice, or two runs at once, writes the same
rows; `rebuild_purchase_days()` starts over from nothing. The customer figures of closed days that
the dashboard keeps (CustomerFigures) are deleted from the first day a run rewrote on.
"""

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Max, Min, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from .models import (
    CustomerFigures,
    LedgerEntry,
    PointsDay,
    Purchase,
    PurchaseDay,
    PurchaseItem,
    PurchaseRollUp,
    Refund,
)

# Days summed per transaction, so the first run over years of ledger does not hold one huge one.
DAYS_PER_BATCH = 31


def rolled_up_until():
    """The first day not yet rolled up (None when nothing is)."""
    last = PointsDay.objects.filter(program__isnull=True).aggregate(last=Max("day"))["last"]
    return last + timedelta(days=1) if last else None


def local_midnight(day):
    """The first moment of `day` in the shop's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def roll_up_points(*, today=None):
    """Roll up every closed day not rolled up yet; answers how many days it added."""
    today = today or timezone.localdate()
    start = rolled_up_until()
    if start is None:
        first = LedgerEntry.objects.aggregate(first=Min("created_at"))["first"]
        if first is None:
            return 0
        start = timezone.localdate(first)
    days = 0
    while start < today:
        end = min(start + timedelta(days=DAYS_PER_BATCH), today)
        with transaction.atomic():
            sums = (LedgerEntry.objects.filter(created_at__gte=local_midnight(start),
                                               created_at__lt=local_midnight(end))
                    .annotate(day=TruncDate("created_at"))
                    .values("day", "membership__program", "kind")
                    .annotate(points=Sum("points"), entries=Count("pk")).order_by())
            # Two runs at once compute the same sums for the same closed days: the second one's
            # rows are equal to the first's, so conflicts are skipped rather than raised.
            PointsDay.objects.bulk_create(
                [PointsDay(day=row["day"], program_id=row["membership__program"], kind=row["kind"],
                           points=row["points"], entries=row["entries"]) for row in sums]
                + [PointsDay(day=start + timedelta(days=n)) for n in range((end - start).days)],
                ignore_conflicts=True)
        days += (end - start).days
        start = end
    return days


# A receipt or refund is stamped (recorded_at) before its transaction commits: looking again this
# far before the last check catches those that committed after it.
LATE_CHANGE_MARGIN = timedelta(minutes=15)


def purchases_rolled_up():
    """(first day not rolled up, moment before which late changes are in) or (None, None)."""
    mark = PurchaseRollUp.objects.order_by("pk").first()
    return (mark.until, mark.checked_at) if mark else (None, None)


def purchases_as_days(purchases):
    """Each purchase of a queryset as a PurchaseDay-shaped row of its own: day, purchases (1),
    amount, refunded so far, first and last category of its lines (None without)."""
    lines = PurchaseItem.objects.filter(purchase=OuterRef("pk")).exclude(category="").order_by()
    refunds = (Refund.objects.filter(purchase=OuterRef("pk")).order_by().values("purchase")
               .annotate(total=Sum("amount")).values("total"))
    return purchases.order_by().annotate(
        day=TruncDate("occurred_at"),
        purchases=Value(1),
        refunded=Coalesce(Subquery(refunds), Value(Decimal(0)), output_field=Purchase.amount.field),
        first_category=Subquery(lines.values("purchase").annotate(c=Min("category")).values("c")),
        last_category=Subquery(lines.values("purchase").annotate(c=Max("category")).values("c")),
    )


def _day_rows(purchases):
    """SQL and parameters that write the PurchaseDay rows of a queryset of purchases."""
    per_purchase = purchases_as_days(purchases).values(
        "member_id", "store_id", "day", "amount", "refunded", "first_category", "last_category")
    sql, params = per_purchase.query.sql_with_params()
    return f"""
        WITH t AS ({sql})
        INSERT INTO {PurchaseDay._meta.db_table}
            (day, member_id, store_id, purchases, amount, refunded, first_category, last_category)
        SELECT day, member_id, store_id, COUNT(*), SUM(amount), SUM(refunded),
               COALESCE(MIN(first_category), ''), COALESCE(MAX(last_category), '')
        FROM t GROUP BY day, member_id, store_id
        ON CONFLICT DO NOTHING""", params  # noqa: S608 - compiled ORM SQL; values are parameters


def _write_days(purchases):
    sql, params = _day_rows(purchases)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _rewrite_late_changes(until, checked_at):
    """Write again the rows of closed days that purchases or refunds recorded since
    `checked_at` changed. Answers how many (member, store, day) rows that was."""
    since = checked_at - LATE_CHANGE_MARGIN
    closed = Purchase.objects.filter(occurred_at__lt=local_midnight(until))
    touched = set(closed.filter(Q(recorded_at__gte=since) | Q(refunds__recorded_at__gte=since))
                  .annotate(day=TruncDate("occurred_at"))
                  .values_list("member_id", "store_id", "day").distinct())
    if not touched:
        return 0
    rows, receipts = Q(), Q()
    for member_id, store_id, day in touched:
        rows |= Q(member_id=member_id, store_id=store_id, day=day)
        receipts |= Q(member_id=member_id, store_id=store_id, occurred_at__gte=local_midnight(day),
                      occurred_at__lt=local_midnight(day + timedelta(days=1)))
    PurchaseDay.objects.filter(rows).delete()
    _write_days(Purchase.objects.filter(receipts))
    # A changed day changes its bucket's figures and the next bucket's customers retained.
    CustomerFigures.objects.filter(end__gte=min(day for _member, _store, day in touched)).delete()
    return len(touched)


def roll_up_purchases(*, today=None, now=None):
    """Roll up every closed day not rolled up yet, and write again the closed days that late
    receipts or refunds changed since the last run; answers {"days", "rewritten"}."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    start, checked_at = purchases_rolled_up()
    rewritten = 0
    if start is None:
        first = Purchase.objects.aggregate(first=Min("occurred_at"))["first"]
        if first is None:
            return {"days": 0, "rewritten": 0}
        start = timezone.localdate(first)
    else:
        with transaction.atomic():
            # Locked, and moved on in the same transaction: a dashboard that computed a trend
            # from the rows as they were before this commit sees the mark change and keeps none
            # of its figures (programs.metrics).
            PurchaseRollUp.objects.select_for_update().get(pk=1)
            rewritten = _rewrite_late_changes(start, checked_at)
            _mark_purchases(start, now)
    days = 0
    while start < today:
        end = min(start + timedelta(days=DAYS_PER_BATCH), today)
        with transaction.atomic():
            _write_days(Purchase.objects.filter(occurred_at__gte=local_midnight(start),
                                                occurred_at__lt=local_midnight(end)))
            _mark_purchases(end, now)
        days += (end - start).days
        start = end
    _mark_purchases(start, now)
    return {"days": days, "rewritten": rewritten}


def _mark_purchases(until, checked_at):
    PurchaseRollUp.objects.update_or_create(pk=1, defaults={"until": until, "checked_at": checked_at})


def rebuild_purchase_days(*, today=None, now=None):
    """Start the purchases roll-up over: after a restore, or to check it against the receipts."""
    with transaction.atomic():
        PurchaseDay.objects.all().delete()
        PurchaseRollUp.objects.all().delete()
        CustomerFigures.objects.all().delete()
    return roll_up_purchases(today=today, now=now)
