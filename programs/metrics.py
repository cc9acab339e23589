"""Loyalty metrics over the programs data: read-only figures for the staff dashboard.

Every metric is a plain function taking a `MetricFilter` (a period of whole days in the shop's
time zone, optionally one store and one program) and returning a `MetricResult`: the value for
the period with its sample size, the same for the previous period, and a trend series of the
twelve weeks or months that end with the period. docs/metrics.md gives each formula.

Definitions used throughout:
- A *customer in a period* is a member with at least one purchase in it (at the filtered store;
  with a program filter, a member of that program). Refunds do not undo a visit.
- A period's *previous period* is the same number of calendar months before it when it is
  whole months (so "November" compares with "October"), otherwise the same number of days.
- A value is None when its denominator is zero: never a division by zero, never a fake 0.

Points belong to a member, not to a store: the points metrics follow the program filter and
ignore the store filter (`MetricResult.store_filtered` is False for them, and the page says so);
their daily roll-up is per program, so they ignore tier and segment too (`member_filtered`).
The customer figures read the daily purchases roll-up (PurchaseDay) for the days it has and
the receipts since, so they are the same either way.

Surveys and referrals are not in this module: they add their figures through
`loyalty_site.dashboard` (metrics) and `register_engagement_source` (engagement).
"""

import calendar
import dataclasses
import itertools
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import rollups
from .models import (
    CustomerFigures,
    LedgerEntry,
    Member,
    Membership,
    PointLot,
    PointsDay,
    Program,
    Purchase,
    PurchaseDay,
    PurchaseRollUp,
    Redemption,
    Subscription,
    Tier,
)
from .money import round_money
from .rollups import local_midnight
from .segments import segment_members
from .subscriptions import subscription_figures_many

# Series: this many buckets, weeks for periods up to WEEKLY_UP_TO_DAYS long, months beyond.
SERIES_LENGTH = 12
WEEKLY_UP_TO_DAYS = 31
# The breakage estimate looks back this far from the end of the period.
BREAKAGE_HISTORY_DAYS = 365

PERCENT = Decimal("0.1")
RATIO = Decimal("0.01")


def add_months(day, months):
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _month_end(day):
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


@dataclass(frozen=True)
class MetricFilter:
    """Which figures to count: the days from `start` to `end` (both included, in the shop's time
    zone), and optionally one store, one program, one tier (members in it now; a tier belongs
    to a program) and one segment (members in it now)."""

    start: date
    end: date
    store: object = None
    program: object = None
    tier: object = None
    segment: object = None
    # Figures several metrics share (purchases, ledger flows) are computed once per filter;
    # `shared` is common to a filter and those derived from it (previous period, buckets).
    memo: dict = field(default_factory=dict, compare=False, hash=False, repr=False)
    shared: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self):
        if self.end < self.start:
            raise ValueError("a period cannot end before it starts")
        # The filter a page asked for; those derived from it share its per-request figures.
        self.shared.setdefault("top", self)

    @property
    def since(self):
        return local_midnight(self.start)

    @property
    def until(self):
        """The first moment after the period (exclusive bound)."""
        return local_midnight(self.end + timedelta(days=1))

    @property
    def days(self):
        return (self.end - self.start).days + 1

    def _months(self):
        """How many calendar months the period covers exactly, or 0 when it is not whole months."""
        if self.start.day != 1 or self.end != _month_end(self.end):
            return 0
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    def _with_days(self, start, end):
        return MetricFilter(start=start, end=end, store=self.store, program=self.program,
                            tier=self.tier, segment=self.segment, shared=self.shared)

    @property
    def narrows_members(self):
        """Whether a tier or segment is chosen: figures that cannot follow them say so."""
        return self.tier is not None or self.segment is not None

    def narrow(self, queryset, member="member"):
        """Rows of `queryset` whose member (reached by the lookup `member`) is in the chosen tier
        and segment now; every row when neither is chosen. Apps' metrics call it too."""
        if self.tier is not None:
            queryset = queryset.filter(**{f"{member}__in": Membership.objects.filter(
                tier=self.tier).values("member")})
        if self.segment is not None:
            queryset = queryset.filter(**{f"{member}__in": self.shared.setdefault(
                "segment_members", segment_members(self.segment).values("pk"))})
        return queryset

    def previous(self):
        """The period just before, of the same length (in months when whole months)."""
        if "previous" not in self.memo:
            months = self._months()
            if months:
                start = add_months(self.start, -months)
                previous = self._with_days(start, _month_end(add_months(start, months - 1)))
            else:
                previous = self._with_days(self.start - timedelta(days=self.days),
                                           self.start - timedelta(days=1))
            self.memo["previous"] = previous
        return self.memo["previous"]

    @property
    def bucket(self):
        """"week" or "month": the steps of the trend series."""
        return "week" if self.days <= WEEKLY_UP_TO_DAYS else "month"

    def buckets(self):
        """The SERIES_LENGTH weeks (Monday to Sunday) or calendar months ending with the one that
        holds the period's last day, oldest first, as filters with this one's store and program."""
        if "buckets" not in self.memo:
            if self.bucket == "week":
                last = self.end - timedelta(days=self.end.weekday())
                starts = [last - timedelta(weeks=n) for n in range(SERIES_LENGTH - 1, -1, -1)]
                buckets = [self._with_days(s, s + timedelta(days=6)) for s in starts]
            else:
                last = self.end.replace(day=1)
                starts = [add_months(last, -n) for n in range(SERIES_LENGTH - 1, -1, -1)]
                buckets = [self._with_days(s, _month_end(s)) for s in starts]
            # Each bucket's previous period is the bucket before it, so retention's series
            # reuses the figures the series already has; and the series (with the bucket before
            # the first) is computed in one query per kind of figure, not one per bucket.
            for before, after in itertools.pairwise(buckets):
                after.memo["previous"] = before
            series = [buckets[0].previous(), *buckets]
            for bucket in series:
                bucket.memo["series"] = series
            self.memo["buckets"] = buckets
        return self.memo["buckets"]

    def memoised(self, name, compute):
        if name not in self.memo:
            self.memo[name] = compute(self)
        return self.memo[name]

    def purchases_rolled_up(self):
        """(first day the purchases roll-up has not summed, when it last took in late changes),
        or (None, None); read once for the filter and those derived from it."""
        if "purchases_rolled_up" not in self.shared:
            self.shared["purchases_rolled_up"] = rollups.purchases_rolled_up()
        return self.shared["purchases_rolled_up"]

    def rolled_up_until(self):
        """The first day the daily points roll-up has not summed (None: nothing is), read once
        for the filter and those derived from it."""
        if "rolled_up_until" not in self.shared:
            self.shared["rolled_up_until"] = rollups.rolled_up_until()
        return self.shared["rolled_up_until"]


@dataclass(frozen=True)
class Figure:
    """A metric's value for one period and how many it was computed from (customers, members,
    memberships…: each metric says). `value` is None when there is nothing to divide by."""

    value: object
    sample: int


@dataclass(frozen=True)
class MetricResult:
    current: Figure
    previous: Figure | None
    # [(first day of the bucket, Figure)], oldest first; empty for a forecast.
    series: list
    store_filtered: bool = True
    # False when the figures ignore a chosen tier and segment (points: the roll-up is per program).
    member_filtered: bool = True
    # Figures from the purchases roll-up: when it last took in late receipts and refunds.
    rolled_up_at: object = None
    # [(label, Figure)]: the headline's parts, for a metric that splits (members by tier).
    breakdown: list = field(default_factory=list)

    @property
    def change(self):
        """Current minus previous value, or None when either is missing."""
        if self.previous is None or self.current.value is None or self.previous.value is None:
            return None
        return self.current.value - self.previous.value


def trend(figure, period, *, store_filtered=True, member_filtered=True):
    """A MetricResult from a function period -> Figure, applied to the period, the one before
    and each bucket of the series."""
    return MetricResult(
        current=figure(period),
        previous=figure(period.previous()),
        series=[(bucket.start, figure(bucket)) for bucket in period.buckets()],
        store_filtered=store_filtered,
        member_filtered=member_filtered,
    )


def _share(part, whole, places=PERCENT):
    """part ÷ whole in per cent, or None when whole is zero."""
    if not whole:
        return None
    return (Decimal(100) * part / whole).quantize(places)


def _ratio(part, whole, places=RATIO):
    if not whole:
        return None
    return (Decimal(part) / whole).quantize(places)


# --- Purchases ---------------------------------------------------------------------------------


def _scope(queryset, period, member="member"):
    """Narrow rows with a member (`member` is the lookup to it) to the filter's program, tier and
    segment: members of the program, members now in the tier, members now in the segment."""
    if period.program is not None:
        # One membership per member and program, so the join repeats no row.
        queryset = queryset.filter(**{f"{member}__memberships__program": period.program})
    return period.narrow(queryset, member)


def _purchases(period):
    purchases = Purchase.objects.filter(occurred_at__gte=period.since, occurred_at__lt=period.until)
    if period.store is not None:
        purchases = purchases.filter(store=period.store)
    return _scope(purchases, period)


CUSTOMER_ROW = ["member_id", "day", "purchases", "amount", "refunded", "first_category",
                "last_category"]


def _customer_rows(period):
    """SQL and parameters of rows (CUSTOMER_ROW) covering the period's purchases: the daily
    roll-up's rows for the days it has, and each purchase since, as a row of its own."""
    rolled, _checked = period.purchases_rolled_up()
    split = min(rolled, period.end + timedelta(days=1)) if rolled else period.start
    days = PurchaseDay.objects.filter(day__gte=period.start, day__lt=split)
    if period.store is not None:
        days = days.filter(store=period.store)
    recent = _purchases(period).filter(occurred_at__gte=local_midnight(max(split, period.start)))
    parts = [_scope(days, period).values(*CUSTOMER_ROW),
             rollups.purchases_as_days(recent).values(*CUSTOMER_ROW)]
    columns = ", ".join(CUSTOMER_ROW)
    queries = [part.order_by().query.sql_with_params() for part in parts]
    # Only compiled ORM SQL and fixed text are joined; every value stays a parameter.
    return (" UNION ALL ".join(f"SELECT {columns} FROM ({sql}) part{n}"  # noqa: S608
                               for n, (sql, _params) in enumerate(queries)),
            [param for _sql, params in queries for param in params])


# Bucket numbers of the second run of buckets read in the same query: far enough from the
# first run's that no bucket of one is "the bucket before" a bucket of the other.
SECOND_RUN = 1000


def _set_customer_memo(bucket, customers, repeaters, purchases, sales, single, several, retained=None):
    bucket.memo["purchases"] = {"customers": customers, "repeaters": repeaters,
                                "purchases": purchases, "sales": sales}
    bucket.memo["categories"] = {"single": single, "several": several}
    if retained is not None:
        bucket.memo["retained"] = retained


def _closed(series):
    """The buckets of a run (a trend series, or a period and the two before it) whose figures
    can be kept (CustomerFigures): those the purchases roll-up has closed, when no program, tier
    or segment is chosen; oldest first."""
    first = series[0]
    rolled, _checked = first.purchases_rolled_up()
    if rolled is None or first.program is not None or first.narrows_members:
        return []
    return [bucket for bucket in series if bucket.end < rolled]


def _read_kept(series):
    """Set the memo of the run's buckets whose figures are kept; answers the runs still to
    compute. The first bucket of a run is there only for the customers at the start of the
    second: its own `retained` is neither needed nor computed."""
    closed = _closed(series)
    if not closed:
        return [series]
    kept = {(row.start, row.end): row for row in CustomerFigures.objects.filter(
        store=series[0].store, start__gte=closed[0].start, end__lte=closed[-1].end)}
    for n, bucket in enumerate(series):
        row = kept.get((bucket.start, bucket.end))
        if row is None or (n and row.retained is None):
            break
        _set_customer_memo(bucket, row.customers, row.repeaters, row.purchases, row.sales,
                           row.single, row.several, row.retained if n else None)
        bucket.memo["kept"] = True
    else:
        return []
    # From the last bucket kept, for the customers retained of the first one computed.
    return [series[max(n - 1, 0):]]


def _keep(series):
    """Keep the figures of the run's closed buckets just computed, unless the purchases
    roll-up ran since the computation read its mark: it may have rewritten rows the figures
    came from (programs.rollups locks the mark while it does)."""
    closed = _closed(series)
    new = [(n, bucket) for n, bucket in enumerate(series[:len(closed)]) if "kept" not in bucket.memo]
    if not new:
        return
    _rolled, checked_at = series[0].purchases_rolled_up()
    with transaction.atomic():
        mark = PurchaseRollUp.objects.select_for_update().filter(pk=1).first()
        if mark is None or mark.checked_at != checked_at:
            return
        # A first bucket's row (no `retained`) is replaced once a later run has it whole.
        CustomerFigures.objects.filter(store=series[0].store, start__in=[b.start for _n, b in new],
                                       retained__isnull=True).delete()
        CustomerFigures.objects.bulk_create([CustomerFigures(
            start=bucket.start, end=bucket.end, store=bucket.store,
            retained=bucket.memo["retained"] if n else None,
            single=bucket.memo["categories"]["single"], several=bucket.memo["categories"]["several"],
            **bucket.memo["purchases"]) for n, bucket in new], ignore_conflicts=True)


def _customer_figures(*runs):
    """Customers, repeaters, purchases, sales, category counts and (from the second bucket of a
    run on) customers retained from the bucket before, for runs of contiguous buckets, in one
    query over the roll-up and the purchases since. Sets each bucket's memo. Closed buckets come
    from CustomerFigures when kept there, and are kept once computed."""
    to_compute = [part for run in runs for part in _read_kept(run)]
    if to_compute:
        _query_customer_figures(to_compute)
    for run in runs:
        _keep(run)


def _query_customer_figures(runs):
    numbered = [(offset + n, bucket) for offset, run in zip((0, SECOND_RUN), runs, strict=False)
                for n, bucket in enumerate(run)]
    sql, params = _customer_rows(_spanning([bucket for _n, bucket in numbered]))
    # Each run numbers a receipt-day once: one CASE per run, the rows of the runs one after the other.
    per_run, run_params = [], []
    for offset, run in zip((0, SECOND_RUN), runs, strict=False):
        cases = " ".join(f"WHEN day BETWEEN %s AND %s THEN {offset + n}" for n in range(len(run)))
        per_run.append(f"""SELECT member_id, CASE {cases} END AS bucket, purchases, amount,
                                  refunded, first_category, last_category FROM t""")  # noqa: S608
        run_params += [day for bucket in run for day in (bucket.start, bucket.end)]
    # Per customer and bucket; LAG finds the customer's bucket before (retention). A customer
    # bought from one category when their smallest and largest category agree.
    with connection.cursor() as cursor:
        cursor.execute(f"""
            WITH t AS ({sql}),
            c AS (SELECT member_id, bucket, SUM(purchases) AS visits, SUM(amount) AS spent,
                         SUM(refunded) AS back, MIN(NULLIF(first_category, '')) AS lo,
                         MAX(NULLIF(last_category, '')) AS hi
                  FROM ({" UNION ALL ".join(per_run)}) numbered WHERE bucket IS NOT NULL
                  GROUP BY member_id, bucket),
            d AS (SELECT c.*, LAG(bucket) OVER (PARTITION BY member_id ORDER BY bucket) AS before
                  FROM c)
            SELECT bucket, COUNT(*), SUM(CASE WHEN visits > 1 THEN 1 ELSE 0 END), SUM(visits),
                   SUM(spent), SUM(back), SUM(CASE WHEN before = bucket - 1 THEN 1 ELSE 0 END),
                   SUM(CASE WHEN lo = hi THEN 1 ELSE 0 END), SUM(CASE WHEN lo < hi THEN 1 ELSE 0 END)
            FROM d GROUP BY bucket""", [*params, *run_params])  # noqa: S608 - values are parameters
        figures = {row[0]: row[1:] for row in cursor.fetchall()}
    for n, item in numbered:
        customers, repeaters, visits, spent, back, retained, single, several = figures.get(
            n, (0, 0, 0, 0, 0, 0, 0, 0))
        # SQLite answers sums of decimals as floats: back to Decimal at the currency's cents.
        sales = Decimal(str(spent or 0)).quantize(RATIO) - Decimal(str(back or 0)).quantize(RATIO)
        _set_customer_memo(item, customers, repeaters or 0, visits or 0, sales, single or 0,
                           several or 0, retained if n % SECOND_RUN else None)


def _spanning(periods):
    first = min(periods, key=lambda p: p.start)
    return first._with_days(first.start, max(p.end for p in periods))


def _customers(period, name):
    """The memoised customer figure `name` of a period: with the series when the period is a
    bucket of one, otherwise with the two periods before it (for its retention and theirs),
    and the series too when it is the page's period."""
    if name not in period.memo:
        if "series" in period.memo:
            _customer_figures(period.memo["series"])
        else:
            before = period.previous()
            runs = [[before.previous(), before, period]]
            if period.shared["top"] is period:
                period.buckets()
                runs.append(period.memo["buckets"][0].memo["series"])
            _customer_figures(*runs)
    return period.memo[name]


def _in_series(period, name, prefetch):
    """The memoised figure `name`, prefetched for the whole series when `period` is a bucket."""
    if name not in period.memo and "series" in period.memo:
        prefetch(period.memo["series"])
    return period.memo.get(name)


def _whole(series):
    return series[0]._with_days(series[0].start, series[-1].end)


def _customer_trend(figure, period):
    """trend() for figures from purchases, saying how fresh the roll-up under them is."""
    return dataclasses.replace(trend(figure, period), rolled_up_at=period.purchases_rolled_up()[1])


def purchase_figures(period):
    """{"customers", "repeaters" (customers with two purchases or more), "purchases", "sales"
    (amounts less what was refunded of them)}."""
    return _customers(period, "purchases")


def repurchase_rate(period):
    """Customers with more than one purchase ÷ customers in the period, in per cent."""
    def figure(p):
        f = purchase_figures(p)
        return Figure(_share(f["repeaters"], f["customers"]), f["customers"])
    return _customer_trend(figure, period)


def member_sales(period):
    """What members bought in the period, less refunds of those purchases."""
    def figure(p):
        f = purchase_figures(p)
        return Figure(round_money(f["sales"]), f["purchases"])
    return _customer_trend(figure, period)


def average_order_value(period):
    """Member sales ÷ purchases in the period."""
    def figure(p):
        f = purchase_figures(p)
        value = round_money(f["sales"] / f["purchases"]) if f["purchases"] else None
        return Figure(value, f["purchases"])
    return _customer_trend(figure, period)


def upsell_ratio(period):
    """Customers who bought from more than one product category ÷ customers who bought from
    exactly one, counting only purchases whose lines carry a category."""
    def figure(p):
        f = _customers(p, "categories")
        return Figure(_ratio(f["several"], f["single"]), f["single"] + f["several"])
    return _customer_trend(figure, period)


def upsell_share(period):
    """Customers who bought from more than one product category ÷ customers who bought from
    one or more, in per cent: the upsell ratio on a 0–100 scale (for the loyalty index)."""
    def figure(p):
        f = _customers(p, "categories")
        return Figure(_share(f["several"], f["single"] + f["several"]), f["single"] + f["several"])
    return _customer_trend(figure, period)


def _retention_figure(period, *, churn):
    at_start = purchase_figures(period.previous())["customers"]
    retained = _customers(period, "retained")
    return Figure(_share(at_start - retained if churn else retained, at_start), at_start)


def retention_rate(period):
    """(Customers at end − new customers) ÷ customers at start, in per cent, where the customers
    at start are the previous period's, the customers at end this period's, and the new ones
    those of this period who were not customers in the previous one: that is, the share of the
    previous period's customers who bought again in this one."""
    return _customer_trend(lambda p: _retention_figure(p, churn=False), period)


def churn_rate(period):
    """100 % − retention rate: the share of the previous period's customers who did not buy."""
    return _customer_trend(lambda p: _retention_figure(p, churn=True), period)


def customer_lifetime_value(period):
    """Average order value × purchases per customer per year × expected lifespan in years ×
    margin (settings.METRICS_CUSTOMER_LIFESPAN_YEARS, settings.METRICS_GROSS_MARGIN). The
    frequency is the period's purchases per customer scaled to 365 days."""
    lifespan = Decimal(str(settings.METRICS_CUSTOMER_LIFESPAN_YEARS))
    margin = Decimal(str(settings.METRICS_GROSS_MARGIN))

    def figure(p):
        f = purchase_figures(p)
        if not f["customers"]:
            return Figure(None, 0)
        # AOV × frequency = sales ÷ purchases × purchases ÷ customers × 365 ÷ days.
        yearly = f["sales"] / f["customers"] * Decimal(365) / p.days
        return Figure(round_money(yearly * lifespan * margin), f["customers"])
    return _customer_trend(figure, period)


# --- Members and engagement ------------------------------------------------------------------


def _members(period):
    """Members who had joined by the end of the period (at the store, in the program)."""
    if period.program is not None:
        members = Member.objects.filter(memberships__program=period.program,
                                        memberships__joined_at__lt=period.until)
    else:
        members = Member.objects.filter(joined_at__lt=period.until)
    if period.store is not None:
        members = members.filter(joined_store=period.store)
    return period.narrow(members, "pk")


def _member_counts(period):
    joined = "memberships__joined_at" if period.program is not None else "joined_at"
    return _members(period).aggregate(
        members=Count("pk"), new=Count("pk", filter=Q(**{f"{joined}__gte": period.since})))


def _prefetch_member_counts(series):
    joined = "memberships__joined_at" if series[-1].program is not None else "joined_at"
    counts = _members(series[-1]).aggregate(**{
        f"{what}{n}": Count("pk", filter=Q(**{f"{joined}__lt": b.until}) if what == "members"
                            else Q(**{f"{joined}__gte": b.since, f"{joined}__lt": b.until}))
        for n, b in enumerate(series) for what in ("members", "new")})
    for n, bucket in enumerate(series):
        bucket.memo["members"] = {"members": counts[f"members{n}"], "new": counts[f"new{n}"]}


def member_counts(period):
    _in_series(period, "members", _prefetch_member_counts)
    return period.memoised("members", _member_counts)


def new_members(period):
    """Members who joined in the period (joined the program, with a program filter; joined at
    the store, with a store filter)."""
    def figure(p):
        f = member_counts(p)
        return Figure(f["new"], f["members"])
    return trend(figure, period)


@dataclass(frozen=True)
class EngagementSource:
    """Something members do that counts towards the engagement score, `weight` points each.
    `count(period)` answers how many times members in the period's scope did it."""

    key: str
    label: object
    weight: int
    count: object


ENGAGEMENT_SOURCES = {}


def register_engagement_source(source):
    """Add a kind of action to the engagement score (surveys: answers; referrals: referrals).
    Registering the same key again replaces it, so a reloaded app does not count twice."""
    ENGAGEMENT_SOURCES[source.key] = source


def _redemptions(period):
    redemptions = Redemption.objects.filter(created_at__gte=period.since,
                                            created_at__lt=period.until).exclude(
        status=Redemption.Status.CANCELLED)
    if period.program is not None:
        redemptions = redemptions.filter(membership__program=period.program)
    if period.store is not None:
        redemptions = redemptions.filter(used_store=period.store)
    return period.narrow(redemptions, "membership__member")


register_engagement_source(EngagementSource(
    key="visits", label=_("visits (purchases)"), weight=1,
    count=lambda period: purchase_figures(period)["purchases"]))


def _prefetch_redemptions(series):
    counts = _redemptions(_whole(series)).aggregate(**{
        f"b{n}": Count("pk", filter=Q(created_at__gte=b.since, created_at__lt=b.until))
        for n, b in enumerate(series)})
    for n, bucket in enumerate(series):
        bucket.memo["redemptions"] = counts[f"b{n}"]


def redemptions_count(period):
    _in_series(period, "redemptions", _prefetch_redemptions)
    return period.memoised("redemptions", lambda p: _redemptions(p).count())


register_engagement_source(EngagementSource(
    key="redemptions", label=_("rewards redeemed"), weight=3, count=redemptions_count))


def engagement_score(period):
    """The weighted sum of what members did in the period ÷ members: each source's count times
    its weight (visits 1, rewards redeemed 3; survey answers and referrals when those apps
    register theirs), divided by the members who had joined by the end of the period."""
    def figure(p):
        members = member_counts(p)["members"]
        actions = sum(source.weight * source.count(p) for source in ENGAGEMENT_SOURCES.values())
        return Figure(_ratio(actions, members), members)
    return _customer_trend(figure, period)


# --- Tiers and paid memberships ---------------------------------------------------------------


def members_by_tier(period):
    """Memberships in each tier now, of the programs that have tiers (a snapshot, whatever the
    period, so no comparison and no series): value = memberships in a tier, sample = all
    memberships of those programs; `breakdown` lists each tier, then "no tier"."""
    memberships = Membership.objects.filter(program__tiers__isnull=False).distinct()
    if period.store is not None:
        memberships = memberships.filter(member__joined_store=period.store)
    if period.program is not None:
        memberships = memberships.filter(program=period.program)
    if period.tier is not None:
        memberships = memberships.filter(tier=period.tier)
    counts = dict(period.narrow(Membership.objects.filter(pk__in=memberships.values("pk")), "member")
                  .values_list("tier").annotate(n=Count("pk")).order_by())
    tiers = Tier.objects.filter(pk__in=[pk for pk in counts if pk is not None]).select_related(
        "program").order_by("program__name", "rank")
    breakdown = [(f"{tier.program}: {tier.display_name()}", Figure(counts[tier.pk], counts[tier.pk]))
                 for tier in tiers]
    if counts.get(None):
        breakdown.append((_("no tier"), Figure(counts[None], counts[None])))
    total = sum(counts.values())
    return MetricResult(current=Figure(total - counts.get(None, 0), total), previous=None,
                        series=[], breakdown=breakdown)


def _subscriptions(period):
    """The paid memberships in the filter's program, tier and segment (not its store: members
    pay for a plan, not at a till)."""
    subscriptions = Subscription.objects.all()
    if period.program is not None:
        subscriptions = subscriptions.filter(membership__program=period.program)
    return period.narrow(subscriptions, "membership__member")


def _subscription_figures(period):
    """subscription_figures() of the period, read for the whole page at once."""
    top = period.shared["top"]
    if "subscriptions" not in top.shared:
        windows = [top, top.previous(), *top.buckets()]
        scope = _subscriptions(top) if top.program or top.narrows_members else None
        top.shared["subscriptions"] = dict(zip(
            [(w.start, w.end) for w in windows],
            subscription_figures_many([(w.since, w.until) for w in windows], scope), strict=True))
    found = top.shared["subscriptions"].get((period.start, period.end))
    if found is None:
        scope = _subscriptions(period) if period.program or period.narrows_members else None
        found = subscription_figures_many([(period.since, period.until)], scope)[0]
    return found


def _paid_membership_trend(pick, period):
    def figure(p):
        return Figure(*pick(_subscription_figures(p)))
    return trend(figure, period, store_filtered=False)


def monthly_recurring_revenue(period):
    """What the paid periods covering the end of the period bring in a month (a yearly price
    counts one twelfth); sample: subscribers then."""
    return _paid_membership_trend(lambda f: (f["mrr"], f["active_subscribers"]), period)


def active_subscribers(period):
    """Subscriptions with a paid or given period covering the end of the period."""
    return _paid_membership_trend(
        lambda f: (f["active_subscribers"], f["active_subscribers"]), period)


def paid_membership_revenue(period):
    """Money members paid for plans in the period."""
    return _paid_membership_trend(lambda f: (round_money(f["revenue"]), f["active_subscribers"]),
                                  period)


def paid_membership_churn(period):
    """Of the subscriptions covered at the start of the period, the share that lapsed in it,
    in per cent; sample: subscribers at the start."""
    def pick(f):
        churn = f["churn_rate"]
        return (None if churn is None else (100 * churn).quantize(PERCENT)), f["subscribers_at_start"]
    return _paid_membership_trend(pick, period)


# --- Points ------------------------------------------------------------------------------------


def _points_scope(queryset, period, program="membership__program"):
    if period.program is not None:
        queryset = queryset.filter(**{program: period.program})
    return queryset


def _ledger_since(period, since_day, group):
    """Sums of the ledger from the start of `since_day` on, grouped by `group` ("program" or
    "kind"): {group value: {"points", "entries"}}. Closed days come from the daily roll-up and
    the rest from the entries themselves."""
    key = ("ledger_since", since_day, group)
    if key not in period.memo:
        rolled = period.rolled_up_until()
        if rolled is not None and _ledger_floor(period) <= since_day <= rolled:
            rows = [row for row in _ledger_rows(period) if row[0] is None or row[0] >= since_day]
        else:
            rows = _query_ledger_rows(period, since_day, rolled or since_day)
        totals = {}
        for _day, program_id, kind, points, entries in rows:
            total = totals.setdefault(program_id if group == "program" else kind,
                                      {"points": 0, "entries": 0})
            total["points"] += points
            total["entries"] += entries
        period.memo[key] = totals
    return period.memo[key]


def _ledger_floor(period):
    """The first day any figure of the page asks the ledger about: a year before the first
    period compared (the breakage window)."""
    top = period.shared["top"]
    first = min(top.previous().start, top.buckets()[0].previous().start)
    return first - timedelta(days=BREAKAGE_HISTORY_DAYS)


def _ledger_rows(period):
    """The roll-up's rows from the floor day on and the entries since the roll-up, read once
    for a filter and those derived from it."""
    if "ledger_rows" not in period.shared:
        period.shared["ledger_rows"] = _query_ledger_rows(period, _ledger_floor(period),
                                                          period.rolled_up_until())
    return period.shared["ledger_rows"]


def _query_ledger_rows(period, since_day, rolled):
    """[(day or None, program id, kind, points, entries)]: the roll-up's days from `since_day` to
    `rolled`, then the entries from `rolled` (day None). Two queries."""
    days = _points_scope(PointsDay.objects.filter(day__gte=since_day, day__lt=rolled,
                                                  program__isnull=False), period, "program")
    entries = (_points_scope(LedgerEntry.objects.filter(
        created_at__gte=local_midnight(max(since_day, rolled))), period)
        .values_list("membership__program", "kind").annotate(Sum("points"), Count("pk")).order_by())
    return [*days.values_list("day", "program", "kind", "points", "entries"),
            *((None, *row) for row in entries)]


def _outstanding_by_program(period):
    """{program id: points outstanding at the end of the period}: the balances now less what the
    ledger moved since the period ended."""
    if "balances" not in period.shared:
        # Today's balances are the same for every period: read them once.
        period.shared["balances"] = dict(
            _points_scope(Membership.objects.all(), period, program="program")
            .values_list("program").annotate(points=Sum("balance")).order_by())
    outstanding = dict(period.shared["balances"])
    moved = _ledger_since(period, period.end + timedelta(days=1), "program")
    for program_id, row in moved.items():
        outstanding[program_id] = outstanding.get(program_id, 0) - row["points"]
    return outstanding


def outstanding_by_program(period):
    return period.memoised("outstanding", _outstanding_by_program)


def _point_values():
    return dict(Program.objects.filter(point_value__isnull=False).values_list("pk", "point_value"))


def points_outstanding(period):
    """Points members hold at the end of the period (balances, including pending points)."""
    def figure(p):
        by_program = outstanding_by_program(p)
        return Figure(sum(by_program.values()), len(by_program))
    return trend(figure, period, store_filtered=False, member_filtered=False)


def points_liability(period):
    """Points outstanding × each program's point value: what the shop owes its members. Programs
    without a point value (members cannot pay with points) add nothing."""
    values = _point_values()

    def figure(p):
        by_program = outstanding_by_program(p)
        liability = sum((max(points, 0) * values[pk] for pk, points in by_program.items()
                         if pk in values), Decimal(0))
        return Figure(round_money(liability), len(by_program))
    return trend(figure, period, store_filtered=False, member_filtered=False)


SPENT = [LedgerEntry.Kind.REDEEM, LedgerEntry.Kind.PAY, LedgerEntry.Kind.CANCEL]
EARNED = [LedgerEntry.Kind.EARN, LedgerEntry.Kind.BONUS, LedgerEntry.Kind.REVERSE]


def _flows(period, since_day=None):
    """Points earned, spent and expired from `since_day` (the period's first day by default) to
    the end of the period, with how many entries earned and how many spent or expired points.
    From the daily roll-up where it has the days, from the ledger for the rest."""
    since_day = since_day or period.start
    after = _ledger_since(period, period.end + timedelta(days=1), "kind")
    moved = _ledger_since(period, since_day, "kind")

    def total(kinds, what="points"):
        return sum(moved.get(k, {}).get(what, 0) - after.get(k, {}).get(what, 0) for k in kinds)

    return {
        "earned": total(EARNED), "spent": -total(SPENT), "expired": -total([LedgerEntry.Kind.EXPIRE]),
        "earnings": total([LedgerEntry.Kind.EARN, LedgerEntry.Kind.BONUS], "entries"),
        "settled": total([LedgerEntry.Kind.REDEEM, LedgerEntry.Kind.PAY, LedgerEntry.Kind.EXPIRE],
                         "entries"),
    }


def redemption_rate(period):
    """Points spent (rewards and paying with points, less cancelled rewards) ÷ points earned
    (purchases and bonuses, less refunds) in the period, in per cent."""
    def figure(p):
        f = p.memoised("flows", _flows)
        return Figure(_share(f["spent"], f["earned"]) if f["earned"] > 0 else None, f["earnings"])
    return trend(figure, period, store_filtered=False, member_filtered=False)


def breakage_rate(period):
    """Points that expired ÷ points that expired or were spent, over the BREAKAGE_HISTORY_DAYS
    before the end of the period, in per cent: the share of points that will likely never be
    redeemed."""
    def figure(p):
        f = p.memoised("history", lambda q: _flows(
            q, since_day=q.end + timedelta(days=1 - BREAKAGE_HISTORY_DAYS)))
        settled = f["expired"] + f["spent"]
        return Figure(_share(f["expired"], settled) if settled > 0 else None, f["settled"])
    return trend(figure, period, store_filtered=False, member_filtered=False)


def next_month(today=None):
    """The first and last day of the calendar month after today's (shop's time zone)."""
    first = add_months((today or timezone.localdate()).replace(day=1), 1)
    return first, _month_end(first)


def points_expiring_next_month(period, *, today=None):
    """Points in lots that will expire in the next calendar month unless spent first: a
    forecast from today, whatever the period (so no comparison and no series)."""
    first, last = next_month(today)
    # Pending lots are left out (they become spendable before they expire), which lets the
    # query use the index the nightly expiry uses.
    lots = _points_scope(PointLot.objects.filter(
        remaining__gt=0, is_pending=False, expires_at__gte=local_midnight(first),
        expires_at__lt=local_midnight(last + timedelta(days=1))), period)
    figures = lots.aggregate(points=Coalesce(Sum("remaining"), 0),
                             memberships=Count("membership", distinct=True))
    return MetricResult(current=Figure(figures["points"], figures["memberships"]), previous=None,
                        series=[], store_filtered=False, member_filtered=False)
