"""The staff dashboard's metrics: a registry that apps add their metrics to, and its filter.

The dashboard shows every registered metric, in registration order within its section, for the
filter the manager chose. An app adds a metric by registering it once (from its AppConfig.ready):

    from loyalty_site.dashboard import Metric, register

    register(Metric(
        key="nps", section=Metric.Section.SATISFACTION, label=_("Net Promoter Score"),
        formula=_("% promoters (9–10) − % detractors (0–6) among answers in the period."),
        compute=surveys.metrics.net_promoter_score,   # MetricFilter -> programs.metrics.MetricResult
        unit=Metric.Unit.SCORE, sample_label=_("answers"), minimum_sample=30,
    ))

`compute` receives a `programs.metrics.MetricFilter` and answers a `MetricResult` (build it
with `programs.metrics.trend`, which applies a function period -> Figure to the period, the one
before and each step of the series). Results are cached for `max_age` seconds (by default
settings.METRICS_CACHE_SECONDS) and the page says when each was computed.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.db import models
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from programs import metrics
from programs.models import Program, Segment, Store, Tier

# The longest period one page may ask for: longer ones would scan years of purchases per click.
LONGEST_PERIOD_DAYS = 3 * 366
DEFAULT_PERIOD_DAYS = 30


@dataclass(frozen=True)
class Metric:
    class Section(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        MEMBERS = "members", _("Members and engagement")
        POINTS = "points", _("Points")
        SATISFACTION = "satisfaction", _("Satisfaction")
        REFERRALS = "referrals", _("Referrals")
        MEMBERSHIPS = "memberships", _("Tiers and paid memberships")

    class Unit(models.TextChoices):
        PERCENT = "percent", _("per cent")
        RATIO = "ratio", _("ratio")
        MONEY = "money", _("money")
        POINTS = "points", _("points")
        COUNT = "count", _("count")
        SCORE = "score", _("score")

    key: str
    section: str
    label: object
    formula: object
    compute: object
    unit: str
    sample_label: object
    # Below this sample the page says "not enough data" instead of a headline.
    minimum_sample: int = 0
    # Whether a rise is good news (churn: no); the page colours the change accordingly.
    higher_is_better: bool = True
    max_age: int | None = None

    @property
    def cache_seconds(self):
        return settings.METRICS_CACHE_SECONDS if self.max_age is None else self.max_age


_METRICS = {}


def register(metric):
    """Add a metric to the dashboard; registering a key again replaces the earlier metric."""
    _METRICS[metric.key] = metric


def registered():
    """The metrics in section order, then in the order they were registered."""
    order = list(Metric.Section.values)
    return sorted(_METRICS.values(), key=lambda m: order.index(m.section))


def metric(key):
    return _METRICS.get(key)


@dataclass(frozen=True)
class Reading:
    """A metric's result for a filter and when it was computed."""

    metric: Metric
    result: metrics.MetricResult
    computed_at: object

    @property
    def refresh_minutes(self):
        return max(1, self.metric.cache_seconds // 60)

    @property
    def enough(self):
        return self.result.current.sample >= self.metric.minimum_sample and (
            self.result.current.value is not None)

    @property
    def previous_enough(self):
        previous = self.result.previous
        return (previous is not None and previous.value is not None
                and previous.sample >= self.metric.minimum_sample)

    @property
    def change(self):
        return self.result.change if self.enough and self.previous_enough else None

    @property
    def good_change(self):
        if not self.change:
            return None
        return (self.change > 0) == self.metric.higher_is_better


def _cache_key(metric, period):
    return ":".join(["dashboard", metric.key, period.start.isoformat(), period.end.isoformat(),
                     *(str(getattr(chosen, "pk", "")) for chosen in (
                         period.store, period.program, period.tier, period.segment))])


def read(period, *, metrics_to_read=None, fresh=False):
    """A Reading for each metric (all registered ones by default), from the cache when one was
    computed less than the metric's max_age ago, unless `fresh`. One cache round trip for the
    figures there are, one write per figure computed."""
    wanted = list(metrics_to_read or registered())
    keys = {item.key: _cache_key(item, period) for item in wanted}
    cached = {} if fresh else cache.get_many(list(keys.values()))
    readings = []
    for item in wanted:
        found = cached.get(keys[item.key])
        if found is None:
            found = (item.compute(period), timezone.now())
            cache.set(keys[item.key], found, item.cache_seconds)
        readings.append(Reading(item, *found))
    return readings


class DashboardFilterForm(forms.Form):
    """The dashboard's filters; every figure on the page follows them."""

    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    store = forms.ModelChoiceField(Store.objects.order_by("name", "pk"), required=False,
                                   label=_("Store"), empty_label=_("All stores"))
    program = forms.ModelChoiceField(Program.objects.order_by("name", "pk"), required=False,
                                     label=_("Program"), empty_label=_("All programs"))
    tier = forms.ModelChoiceField(Tier.objects.select_related("program").order_by(
        "program__name", "rank", "pk"), required=False, label=_("Tier"), empty_label=_("All tiers"))
    segment = forms.ModelChoiceField(Segment.objects.order_by("name", "pk"), required=False,
                                     label=_("Segment"), empty_label=_("All members"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tier"].label_from_instance = lambda tier: f"{tier.program}: {tier.display_name()}"

    @classmethod
    def from_query(cls, query):
        """The form for the page's query string, with the last DEFAULT_PERIOD_DAYS days filled
        in when the query names no period."""
        data = query.copy()
        today = timezone.localdate()
        data.setdefault("end", today.isoformat())
        data.setdefault("start", (today - timedelta(days=DEFAULT_PERIOD_DAYS - 1)).isoformat())
        return cls(data)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if end < start:
                self.add_error("end", _("The period must end on or after its first day."))
            elif (end - start).days >= LONGEST_PERIOD_DAYS:
                self.add_error("end", _("Choose a period of at most three years."))
        tier, program = cleaned.get("tier"), cleaned.get("program")
        if tier is not None and program is not None and tier.program_id != program.pk:
            self.add_error("tier", _("This tier belongs to another program."))
        return cleaned

    def period(self):
        """The MetricFilter for valid data."""
        data = self.cleaned_data
        # A tier belongs to one program: choosing it chooses the program.
        program = data["program"] or (data["tier"].program if data["tier"] else None)
        return metrics.MetricFilter(start=data["start"], end=data["end"], store=data["store"],
                                    program=program, tier=data["tier"], segment=data["segment"])


def warm_default_view():
    """Compute and cache every figure of the page a manager sees first (no filter chosen), so
    it is served from the cache; answers how many figures."""
    form = DashboardFilterForm.from_query(QueryDict())
    if not form.is_valid():
        raise ValueError(form.errors.as_text())
    return len(read(form.period(), fresh=True))


def presets(today=None):
    """Quick choices of period: [(label, start, end)]."""
    today = today or timezone.localdate()
    month_start = today.replace(day=1)
    last_month_end = month_start - timedelta(days=1)
    return [
        (_("Last 7 days"), today - timedelta(days=6), today),
        (_("Last 30 days"), today - timedelta(days=DEFAULT_PERIOD_DAYS - 1), today),
        (_("Last month"), last_month_end.replace(day=1), last_month_end),
        (_("Last 12 months"), metrics.add_months(month_start, -12), last_month_end),
    ]


def _on_100(metric_key, result, rescale=lambda value: value):
    """A metric's figures as (figure on 0–100 or None when below its minimum sample) triples."""
    minimum = _METRICS[metric_key].minimum_sample if metric_key in _METRICS else 0

    def scaled(figure):
        if figure is None or figure.value is None or figure.sample < minimum:
            return metrics.Figure(None, figure.sample if figure else 0)
        return metrics.Figure(rescale(figure.value), figure.sample)
    return [scaled(result.current), scaled(result.previous),
            *(scaled(figure) for _, figure in result.series)], [start for start, _ in result.series]


def loyalty_index(period):
    """The mean of NPS (from −100..100 to 0..100), repurchase rate and upsell share, each on
    0–100; no value when any of them has too small a sample. NPS comes from the surveys app
    through this registry, so the index waits for it rather than importing it."""
    nps = metric("nps")
    if nps is None:
        empty = metrics.Figure(None, 0)
        return metrics.MetricResult(empty, empty, [(b.start, empty) for b in period.buckets()])
    parts = [
        _on_100("nps", nps.compute(period), lambda value: (Decimal(value) + 100) / 2),
        _on_100("repurchase_rate", metrics.repurchase_rate(period)),
        _on_100("upsell_ratio", metrics.upsell_share(period)),
    ]
    starts = parts[1][1]

    def combined(figures):
        sample = min(figure.sample for figure in figures)
        if any(figure.value is None for figure in figures):
            return metrics.Figure(None, sample)
        return metrics.Figure((sum(Decimal(f.value) for f in figures) / 3).quantize(metrics.PERCENT),
                              sample)

    figures = [combined(triple) for triple in zip(*(part[0] for part in parts), strict=True)]
    return metrics.MetricResult(figures[0], figures[1], list(zip(starts, figures[2:], strict=True)))


def register_core_metrics():
    """The metrics whose data the programs core holds."""
    section, unit = Metric.Section, Metric.Unit
    customers, members, memberships = _("customers"), _("members"), _("memberships")
    subscribers = _("subscribers")
    for item in [
        Metric("repurchase_rate", section.CUSTOMERS, _("Repurchase rate"),
               _("Customers with more than one purchase in the period ÷ customers with at least "
                 "one, in per cent."),
               metrics.repurchase_rate, unit.PERCENT, customers, minimum_sample=20),
        Metric("retention_rate", section.CUSTOMERS, _("Retention rate"),
               _("(Customers at end − new customers) ÷ customers at start: the previous period's "
                 "customers who bought again in this one ÷ the previous period's customers."),
               metrics.retention_rate, unit.PERCENT, customers, minimum_sample=20),
        Metric("churn_rate", section.CUSTOMERS, _("Churn rate"),
               _("100 % − retention rate: the previous period's customers who did not buy in "
                 "this one ÷ the previous period's customers."),
               metrics.churn_rate, unit.PERCENT, customers, minimum_sample=20,
               higher_is_better=False),
        Metric("upsell_ratio", section.CUSTOMERS, _("Upsell ratio"),
               _("Customers who bought from more than one product category ÷ customers who "
                 "bought from exactly one (receipts with categorised lines only)."),
               metrics.upsell_ratio, unit.RATIO, customers, minimum_sample=20),
        Metric("customer_lifetime_value", section.CUSTOMERS, _("Customer lifetime value"),
               _("Average order value × purchases per customer per year × expected lifespan "
                 "in years × margin (both set by the shop: METRICS_CUSTOMER_LIFESPAN_YEARS, "
                 "METRICS_GROSS_MARGIN)."),
               metrics.customer_lifetime_value, unit.MONEY, customers, minimum_sample=20),
        Metric("average_order_value", section.CUSTOMERS, _("Average order value"),
               _("Member sales ÷ purchases in the period."),
               metrics.average_order_value, unit.MONEY, _("purchases"), minimum_sample=10),
        Metric("member_sales", section.CUSTOMERS, _("Member sales"),
               _("What members bought in the period, less what was refunded of it."),
               metrics.member_sales, unit.MONEY, _("purchases")),
        Metric("new_members", section.MEMBERS, _("New members"),
               _("Members who joined in the period (joined the program, with a program chosen; "
                 "joined at the store, with a store chosen)."),
               metrics.new_members, unit.COUNT, members),
        Metric("engagement_score", section.MEMBERS, _("Engagement score"),
               _("(1 × visits + 3 × rewards redeemed, and later 2 × survey answers + 5 × "
                 "referrals) ÷ members who had joined by the end of the period."),
               metrics.engagement_score, unit.SCORE, members, minimum_sample=20),
        Metric("points_outstanding", section.POINTS, _("Points outstanding"),
               _("Points members held at the end of the period, pending ones included."),
               metrics.points_outstanding, unit.POINTS, _("programs")),
        Metric("points_liability", section.POINTS, _("Points liability"),
               _("Points outstanding × each program's point value: what the shop owes its "
                 "members. Programs without a point value count nothing."),
               metrics.points_liability, unit.MONEY, _("programs"), higher_is_better=False),
        Metric("redemption_rate", section.POINTS, _("Redemption rate"),
               _("Points spent on rewards or paying (less cancelled rewards) ÷ points earned "
                 "(less refunds) in the period, in per cent."),
               metrics.redemption_rate, unit.PERCENT, _("earnings"), minimum_sample=20),
        Metric("breakage_rate", section.POINTS, _("Breakage (estimate)"),
               _("Points that expired ÷ points that expired or were spent, over the year up to "
                 "the end of the period, in per cent: the share likely never to be redeemed."),
               metrics.breakage_rate, unit.PERCENT, _("redemptions and expiries"),
               minimum_sample=20,
               higher_is_better=False),
        Metric("loyalty_index", section.SATISFACTION, _("Loyalty index"),
               _("The mean of NPS (rescaled from −100…100 to 0…100), repurchase rate and upsell "
                 "share (customers who bought from several categories ÷ all who bought "
                 "categorised lines), each on 0–100; shown only when all three have enough "
                 "data. Sample: the smallest of the three."),
               loyalty_index, unit.SCORE, _("in the smallest part")),
        Metric("points_expiring_next_month", section.POINTS, _("Points expiring next month"),
               _("Points in lots that expire in the next calendar month unless spent first; "
                 "a forecast from today, whatever the period."),
               metrics.points_expiring_next_month, unit.POINTS, memberships,
               higher_is_better=False),
        Metric("members_by_tier", section.MEMBERSHIPS, _("Members in a tier"),
               _("Memberships in each tier now, of the programs that have tiers; a snapshot of "
                 "today, whatever the period."),
               metrics.members_by_tier, unit.COUNT, memberships),
        Metric("monthly_recurring_revenue", section.MEMBERSHIPS, _("Monthly recurring revenue"),
               _("What the paid membership periods running at the end of the period bring in a "
                 "month; a yearly price counts one twelfth. Periods given free count nothing."),
               metrics.monthly_recurring_revenue, unit.MONEY, subscribers),
        Metric("active_subscribers", section.MEMBERSHIPS, _("Active subscribers"),
               _("Paid memberships with a paid or given period running at the end of the period."),
               metrics.active_subscribers, unit.COUNT, subscribers),
        Metric("paid_membership_revenue", section.MEMBERSHIPS, _("Paid-membership revenue"),
               _("Money members paid for plans in the period."),
               metrics.paid_membership_revenue, unit.MONEY, subscribers),
        Metric("paid_membership_churn", section.MEMBERSHIPS, _("Paid-membership churn"),
               _("Of the paid memberships running at the start of the period, the share that "
                 "lapsed in it, in per cent."),
               metrics.paid_membership_churn, unit.PERCENT, subscribers, minimum_sample=10,
               higher_is_better=False),
    ]:
        register(item)


register_core_metrics()


# --- A member's page -------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberPanel:
    """A part of a member's staff page that an app adds: tier changes, survey answers,
    referrals. `context(member)` answers the template's context (in a bounded number of
    queries, whatever the member's history); `template` renders it inside an <article>."""

    key: str
    title: object
    template: str
    context: object


_MEMBER_PANELS = {}


def register_member_panel(panel):
    """Add a panel to every member's staff page, after the core's; a key again replaces it."""
    _MEMBER_PANELS[panel.key] = panel


def member_panels(member):
    """[(panel, context)] for the member, in registration order."""
    return [(panel, panel.context(member)) for panel in _MEMBER_PANELS.values()]
