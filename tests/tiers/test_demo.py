import pytest
from django.core.management import call_command

from programs.models import Membership, TierChange

pytestmark = pytest.mark.django_db


def test_the_demo_shop_has_bronze_silver_and_gold_members_who_climbed_as_they_shopped():
    call_command("demo")
    held = set(Membership.objects.filter(program__slug="points", tier__isnull=False)
               .values_list("tier__name", flat=True))
    assert held == {"Bronze", "Silver", "Gold"}
    assert TierChange.objects.filter(reason=TierChange.Reason.PURCHASE).exists()
