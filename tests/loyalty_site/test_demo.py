import pytest
from django.core.management import call_command

from loyalty_site.demo import demo_counts
from loyalty_site.models import User
from programs.models import Membership
from programs.selectors import ledger_breaches

pytestmark = pytest.mark.django_db


def test_demo_builds_a_shop_and_adds_nothing_the_second_time(capsys):
    call_command("demo")
    first = demo_counts()
    assert first["stores"] >= 2 and first["members"] >= 50 and first["purchases"] >= 300
    assert first["redemptions"] >= 10
    assert list(ledger_breaches()) == []
    demo_member = Membership.objects.get(member__user__email="member@example.com",
                                         program__slug="points")
    assert demo_member.balance > 0
    call_command("demo")
    assert demo_counts() == first
    out = capsys.readouterr().out
    assert "manager@example.com" in out and "member@example.com" in out
    manager = User.objects.get(email="manager@example.com")
    assert manager.check_password("patron-demo") and manager.groups.get().name == "manager"
