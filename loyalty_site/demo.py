"""A believable shop for trying Patron out: `manage.py demo`.

Everything is keyed by a fixed email address or receipt number, so running it twice adds
nothing; the random choices come from a seeded generator, so every run builds the same shop.
"""

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone

from programs import services as program_services
from programs.demo_campaigns import build_demo_campaigns, give_demo_treats
from programs.demo_plans import build_demo_plans
from programs.demo_tiers import build_demo_tiers
from programs.models import Member, Membership, Program, Purchase, Redemption, Reward, Store
from referrals.demo import build_demo_referrals
from surveys.demo import build_demo_surveys

from .models import User
from .roles import CASHIER, MANAGER
from .services import add_staff_member

DEMO_PASSWORD = "patron-demo"  # noqa: S105 - printed on purpose for a local demo

MANAGER_EMAIL = "manager@example.com"
CASHIER_EMAIL = "cashier@example.com"
MEMBER_EMAIL = "member@example.com"

FIRST_NAMES = [
    "Anna", "Erik", "Maja", "Lars", "Zofia", "Piotr", "Agnieszka", "Tomasz", "Yuki", "Haruto",
    "Sakura", "Ren", "Emma", "Oliver", "Sofia", "Lucas", "Elin", "Johan", "Kasia", "Marek",
]
LAST_NAMES = [
    "Andersson", "Johansson", "Nowak", "Kowalski", "Wiśniewska", "Sato", "Suzuki", "Takahashi",
    "Lindqvist", "Berg", "Mazur", "Kamińska", "Tanaka", "Nilsson", "Lewandowski", "Ito",
]
MEMBER_COUNT = 80
DAYS_OF_HISTORY = 365


@dataclass
class DemoLogins:
    manager: str
    cashier: str
    member: str
    password: str


def verified_user(*, email, name, password=None, language="en"):
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, name=name, password=password,
                                        language=language)
    EmailAddress.objects.get_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    return user


def stores():
    main, _ = Store.objects.get_or_create(code="main-street", defaults={
        "name": "Main Street", "address": "Main Street 12"})
    harbour, _ = Store.objects.get_or_create(code="harbour", defaults={
        "name": "Harbour Market", "address": "Harbour Square 3"})
    web, _ = Store.objects.get_or_create(code="web", defaults={
        "name": "Web shop", "channel": Store.Channel.ONLINE})
    return [main, harbour, web]


def programs():
    """A points program (14 days pending, 12-month expiry) and a coffee stamp card."""
    since = timezone.now() - timedelta(days=DAYS_OF_HISTORY + 30)
    points, created = Program.objects.get_or_create(slug="points", defaults={
        "name": "Patron Points", "kind": Program.Kind.SPEND, "pending_days": 14,
        "expiry": Program.Expiry.AFTER_EARNING, "expiry_months": 12,
        "point_value": Decimal("0.05"),
        "description": "One point for every unit spent, in every store and online."})
    if created:
        program_services.change_earning_rule(program=points, actor=None,
                                             points_per_unit=Decimal("1"), effective_from=since)
    card, created = Program.objects.get_or_create(slug="coffee-card", defaults={
        "name": "Coffee card", "kind": Program.Kind.VISITS,
        "description": "A stamp per visit of 30 or more; the tenth coffee is on us."})
    if created:
        program_services.change_earning_rule(program=card, actor=None, points_per_visit=1,
                                             minimum_amount=Decimal("30"), effective_from=since)
    for program, name, kind, value, cost, stock in [
        (points, "Coffee of your choice", Reward.Kind.FREE_PRODUCT, None, 100, None),
        (points, "10% off your next purchase", Reward.Kind.PERCENT_DISCOUNT, Decimal("10"), 250, None),
        (points, "50 off a purchase of 300 or more", Reward.Kind.FIXED_DISCOUNT, Decimal("50"), 600, None),
        (points, "Canvas tote bag", Reward.Kind.FREE_PRODUCT, None, 400, 25),
        (points, "Coffee tasting evening for two", Reward.Kind.EXPERIENCE, None, 1500, 8),
        (card, "Free coffee", Reward.Kind.FREE_PRODUCT, None, 10, None),
    ]:
        Reward.objects.get_or_create(program=program, name=name, defaults={
            "kind": kind, "value": value, "cost": cost, "stock": stock})
    return points


def staff():
    for email, name, role in [(MANAGER_EMAIL, "Maria Manager", MANAGER),
                              (CASHIER_EMAIL, "Carl Cashier", CASHIER)]:
        user = verified_user(email=email, name=name, password=DEMO_PASSWORD)
        if not user.groups.filter(name=role).exists():
            add_staff_member(actor=None, email=email, name=name, role=role)


def members(rng, store_list):
    now = timezone.now()
    people = [(MEMBER_EMAIL, "Mia Member", "en", DAYS_OF_HISTORY)]
    languages = ["en", "en", "sv", "pl", "ja"]
    for n in range(MEMBER_COUNT):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        people.append((f"customer{n + 1:03d}@example.com", name, rng.choice(languages),
                       rng.randint(1, DAYS_OF_HISTORY)))
    result = []
    for email, name, language, days_ago in people:
        password = DEMO_PASSWORD if email == MEMBER_EMAIL else None
        user = verified_user(email=email, name=name, password=password, language=language)
        result.append(program_services.enrol_member(
            user=user, store=rng.choice(store_list), joined_at=now - timedelta(days=days_ago),
            source="demo"))
    return result


def purchases(rng, store_list, member_list):
    """About a year of purchases in time order, more of them from a loyal core of members.

    Each is recorded as of its own moment, so pending windows, expiry and the history look as
    they would after a real year; the nightly jobs are then run up to today.
    """
    now = timezone.now()
    visits = []
    for member in member_list:
        days_member = max(1, (now - member.joined_at).days)
        count = rng.choice([0, 1, 1, 2, 3, 5, 8, 12, 20]) if member.user.email != MEMBER_EMAIL else 30
        home_store = member.joined_store or store_list[0]
        for _visit in range(count):
            store = home_store if rng.random() < 0.7 else rng.choice(store_list)
            amount = Decimal(rng.randint(300, 18000)) / 100
            visits.append((now - timedelta(days=rng.uniform(0, days_member)), member, store, amount))
    # The demo member also has points that expire in ten days, for the reminder and the portal.
    demo_member = next(m for m in member_list if m.user.email == MEMBER_EMAIL)
    visits.append((now - timedelta(days=355), demo_member, store_list[0], Decimal("212.00")))
    visits.sort(key=lambda visit: visit[0])
    for receipt, (when, member, store, amount) in enumerate(visits, start=1):
        program_services.record_purchase(
            store=store, member=member, external_id=f"DEMO-{receipt:06d}", amount=amount,
            occurred_at=when, now=when,
        )


def redemptions(rng, store_list, points_program):
    """Some rewards redeemed and used at the till, and a code or two still waiting."""
    rewards = list(Reward.objects.filter(program=points_program, stock__isnull=True))
    if Redemption.objects.exists():
        return
    program_services.release_pending_points()
    for membership in Membership.objects.filter(program=points_program).select_related("member"):
        affordable = [r for r in rewards if r.cost <= membership.available]
        if not affordable or rng.random() < 0.4:
            continue
        redemption = program_services.redeem_reward(member=membership.member,
                                                    reward=rng.choice(affordable))
        if rng.random() < 0.7 and membership.member.user.email != MEMBER_EMAIL:
            program_services.use_redemption(code=redemption.code, store=rng.choice(store_list))


@transaction.atomic
def build_demo_shop():
    rng = random.Random(20261123)
    store_list = stores()
    points_program = programs()
    build_demo_tiers(points_program)
    build_demo_campaigns(points_program, store_list[1])
    staff()
    member_list = members(rng, store_list)
    purchases(rng, store_list, member_list)
    program_services.release_pending_points()
    program_services.expire_points()
    redemptions(rng, store_list, points_program)
    give_demo_treats(points_program, MEMBER_EMAIL)
    build_demo_surveys(rng, member_email=MEMBER_EMAIL)
    build_demo_referrals(member_email=MEMBER_EMAIL)
    build_demo_plans(points_program, member_email=MEMBER_EMAIL)
    return DemoLogins(MANAGER_EMAIL, CASHIER_EMAIL, MEMBER_EMAIL, DEMO_PASSWORD)


def demo_counts():
    return {
        "stores": Store.objects.count(),
        "members": Member.objects.count(),
        "purchases": Purchase.objects.count(),
        "redemptions": Redemption.objects.count(),
    }
