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
from programs.models import Member, Program, Purchase, Store

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
    Program.objects.get_or_create(slug="points", defaults={
        "name": "Patron Points", "kind": Program.Kind.SPEND,
        "description": "One point for every unit spent, in every store and online."})
    Program.objects.get_or_create(slug="coffee-card", defaults={
        "name": "Coffee card", "kind": Program.Kind.VISITS,
        "description": "A stamp per visit; the tenth coffee is on us."})


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
            user=user, store=rng.choice(store_list), joined_at=now - timedelta(days=days_ago)))
    return result


def purchases(rng, store_list, member_list):
    """About a year of purchases, more of them from a loyal core of members."""
    now = timezone.now()
    receipt = 0
    for member in member_list:
        days_member = max(1, (now - member.joined_at).days)
        visits = rng.choice([0, 1, 1, 2, 3, 5, 8, 12, 20]) if member.user.email != MEMBER_EMAIL else 24
        home_store = member.joined_store or store_list[0]
        for _visit in range(visits):
            receipt += 1
            store = home_store if rng.random() < 0.7 else rng.choice(store_list)
            amount = Decimal(rng.randint(300, 18000)) / 100
            program_services.record_purchase(
                store=store, member=member, external_id=f"DEMO-{receipt:06d}", amount=amount,
                occurred_at=now - timedelta(days=rng.uniform(0, days_member)),
            )


@transaction.atomic
def build_demo_shop():
    rng = random.Random(20261123)
    store_list = stores()
    programs()
    staff()
    member_list = members(rng, store_list)
    purchases(rng, store_list, member_list)
    return DemoLogins(MANAGER_EMAIL, CASHIER_EMAIL, MEMBER_EMAIL, DEMO_PASSWORD)


def demo_counts():
    return {
        "stores": Store.objects.count(),
        "members": Member.objects.count(),
        "purchases": Purchase.objects.count(),
    }
