from decimal import Decimal

import pytest

from programs.models import Plan

from ..programs import conftest as points_fixtures

# The SEK shop with its points program, a store and a customer, as the points tests have them.
shop = points_fixtures.shop
store = points_fixtures.store
customer = points_fixtures.customer


@pytest.fixture
def vip(shop):
    """A monthly VIP plan of the SEK shop's program: 99 kr, ×2 points, 50 bonus points a period."""
    return Plan.objects.create(program=shop, name="VIP", price=Decimal("99.00"),
                               multiplier=Decimal("2"), bonus_points=50, perks="Free coffee refills")


@pytest.fixture
def vip_plus(shop):
    return Plan.objects.create(program=shop, name="VIP Plus", price=Decimal("199.00"),
                               multiplier=Decimal("3"), bonus_points=150)


@pytest.fixture
def trial_plan(shop):
    return Plan.objects.create(program=shop, name="Club", price=Decimal("49.00"), trial_days=14,
                               bonus_points=20)


@pytest.fixture
def keys(settings):
    """Stripe switched on with test keys; tests sign webhooks with the secret."""
    settings.STRIPE_SECRET_KEY = "sk_test_123"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test_secret"
