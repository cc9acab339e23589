"""The daily roll-up of the points ledger that the dashboard's points metrics read.

`roll_up_points()` sums each closed day's entries (days in the shop's time zone, before today)
per program and kind into PointsDay, and marks the day done. Entries are written at the moment
they happen and never changed, so a closed day's sums never change: each run only adds the
days since the last marked one, and running it twice adds nothing the second time.
"""

from datetime import datetime, time, timedelta

from django.db import transaction
from django.db.models import Count, Max, Min, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from .models import LedgerEntry, PointsDay

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
