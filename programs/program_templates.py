"""Ready-made first programs for the first-run setup (docs/onboarding.md), and the stores.

A template is a program's settings with sensible defaults — points for spending, a stamp card,
tiers, a paid VIP club — that a manager can change later on the usual pages. The same
functions build the demo shop (`manage.py demo`), so the two never drift apart.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Plan, Program, Reward, Store, Tier
from .points import change_earning_rule

SPEND_REWARDS = [
    # name, kind, value, cost in points
    (gettext_lazy("A free coffee or small item"), Reward.Kind.FREE_PRODUCT, None, 100),
    # xgettext:no-python-format
    (gettext_lazy("10% off your next purchase"), Reward.Kind.PERCENT_DISCOUNT, Decimal("10"), 250),
]
TIERS = [
    # name, names in the other languages, threshold in points earned in 12 months, multiplier
    ("Bronze", {"sv": "Brons", "pl": "Brązowy", "ja": "ブロンズ"}, 0, Decimal("1")),
    ("Silver", {"sv": "Silver", "pl": "Srebrny", "ja": "シルバー"}, 500, Decimal("1.25")),
    ("Gold", {"sv": "Guld", "pl": "Złoty", "ja": "ゴールド"}, 1500, Decimal("1.5")),
]


@dataclass(frozen=True)
class ProgramTemplate:
    key: str
    label: str
    summary: str
    kind: str = Program.Kind.SPEND
    points_per_unit: Decimal = Decimal("0")
    points_per_visit: int = 0
    pending_days: int = 14
    expiry: str = Program.Expiry.AFTER_INACTIVITY
    expiry_months: int | None = 12
    signup_points: int = 0
    rewards: list = field(default_factory=list)
    tiers: list = field(default_factory=list)
    plan_price: Decimal | None = None


TEMPLATES = {
    template.key: template for template in [
        ProgramTemplate(
            key="points", label=gettext_lazy("Points for spending"),
            summary=gettext_lazy("One point per unit spent; points are spendable after a 14-day "
                                 "return window and expire after 12 months without a visit."),
            points_per_unit=Decimal("1"), signup_points=50, rewards=SPEND_REWARDS),
        ProgramTemplate(
            key="stamps", label=gettext_lazy("Stamp card"),
            summary=gettext_lazy("A stamp per visit; the tenth is free. Stamps never expire."),
            kind=Program.Kind.VISITS, points_per_visit=1, pending_days=0,
            expiry=Program.Expiry.NEVER, expiry_months=None,
            rewards=[(gettext_lazy("A free coffee or small item"), Reward.Kind.FREE_PRODUCT, None, 10)]),
        ProgramTemplate(
            key="tiered", label=gettext_lazy("Points with tiers"),
            summary=gettext_lazy("Points for spending, and Bronze, Silver and Gold by points earned "
                                 "in the last 12 months; higher tiers earn faster."),
            points_per_unit=Decimal("1"), signup_points=50, rewards=SPEND_REWARDS, tiers=TIERS),
        ProgramTemplate(
            key="vip", label=gettext_lazy("Paid VIP club"),
            summary=gettext_lazy("Points for spending, and a monthly VIP membership with a 14-day "
                                 "free trial that earns one and a half times the points."),
            points_per_unit=Decimal("1"), rewards=SPEND_REWARDS, plan_price=Decimal("9.00")),
    ]
}


@transaction.atomic
def create_program_from_template(*, template, name, actor, slug="", signup_points=None,
                                 plan_price=None, effective_from=None):
    """The program `template` describes, with its earning rule, rewards, tiers and plan.

    Harmless when a program with this code exists already: it is returned as it is, with
    created False, so that a form sent twice makes one program. Reward names are written in
    the active language. Raises ValidationError for an unknown template or a bad name or price.
    Returns (program, created).
    """
    if template not in TEMPLATES:
        raise ValidationError({"template": _("Choose one of the templates.")})
    spec = TEMPLATES[template]
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the program a name.")})
    slug = slug or slugify(name)[:40] or spec.key
    price = spec.plan_price if plan_price is None else plan_price
    if spec.plan_price is not None and not price > 0:
        raise ValidationError({"plan_price": _("The membership needs a price above zero.")})
    existing = Program.objects.filter(slug=slug).first()
    if existing is not None:
        return existing, False
    program = Program.objects.create(
        name=name, slug=slug, kind=spec.kind, pending_days=spec.pending_days, expiry=spec.expiry,
        expiry_months=spec.expiry_months,
        signup_points=spec.signup_points if signup_points is None else signup_points,
        description=str(spec.summary))
    change_earning_rule(program=program, actor=actor, points_per_unit=spec.points_per_unit,
                        points_per_visit=spec.points_per_visit, effective_from=effective_from)
    for reward_name, kind, value, cost in spec.rewards:
        Reward.objects.create(program=program, name=str(reward_name), kind=kind, value=value,
                              cost=cost)
    if spec.tiers:
        Program.objects.filter(pk=program.pk).update(
            tier_basis=Program.TierBasis.POINTS, tier_window=Program.TierWindow.ROLLING,
            tier_grace_days=14)
        for rank, (tier_name, names, threshold, multiplier) in enumerate(spec.tiers):
            Tier.objects.create(program=program, rank=rank, name=tier_name, names=names,
                                threshold=threshold, multiplier=multiplier)
    if spec.plan_price is not None:
        Plan.objects.create(program=program, name="VIP", price=price, period=Plan.Period.MONTH,
                            trial_days=14, multiplier=Decimal("1.5"), bonus_points=100)
    return program, True


def store_code(name):
    return slugify(name)[:40]


@transaction.atomic
def add_stores(*, names, online=False):
    """A store for each name (and the web shop when `online`), found by code when it exists,
    so sending the same list twice adds nothing. Returns the stores, in the order given."""
    wanted = [(name.strip()[:100], Store.Channel.IN_STORE) for name in names if name.strip()]
    if online:
        wanted.append((_("Web shop"), Store.Channel.ONLINE))
    if not wanted:
        raise ValidationError({"stores": _("Add at least one store.")})
    stores = []
    for name, channel in wanted:
        code = store_code(name)
        if not code:
            raise ValidationError({"stores": _("“%(name)s” needs some letters or digits.") % {"name": name}})
        store, _created = Store.objects.get_or_create(code=code, defaults={"name": name, "channel": channel})
        stores.append(store)
    return stores
