"""Welcome points and birthday treats: given once, never farmed, emailed once."""

from datetime import date, datetime, time

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from loyalty_site.models import OutboxEmail
from programs import services
from programs.birthdays import give_birthday_treats, set_birthday
from programs.models import LedgerEntry, Membership, Redemption

from ..factories import MemberFactory, RewardFactory, UserFactory

pytestmark = pytest.mark.django_db


def local(day, hour=9):
    return timezone.make_aware(datetime.combine(day, time(hour)))


def balance(member, program):
    return Membership.objects.get(member=member, program=program).balance


def test_a_new_member_gets_the_welcome_points_once(shop):
    shop.signup_points = 50
    shop.save()
    user = UserFactory()
    member = services.enrol_member(user=user, source="portal")
    services.enrol_member(user=user, source="portal")

    assert balance(member, shop) == 50
    entry = LedgerEntry.objects.get(membership__member=member)
    assert (entry.kind, entry.cause_key, entry.reason) == (LedgerEntry.Kind.BONUS, "signup",
                                                           "Welcome to the program")


def test_imported_customers_get_no_welcome_points(shop):
    shop.signup_points = 50
    shop.save()
    member = services.enrol_member(user=UserFactory(), source="import")
    assert not Membership.objects.filter(member=member, balance__gt=0).exists()


def test_a_birthday_is_given_once_and_must_be_real(customer):
    now = local(date(2026, 5, 10))
    with pytest.raises(ValidationError, match="real date of birth"):
        set_birthday(member=customer, birthday=date(2026, 5, 11), now=now)
    with pytest.raises(ValidationError, match="real date of birth"):
        set_birthday(member=customer, birthday=date(1890, 1, 1), now=now)
    set_birthday(member=customer, birthday=date(1990, 7, 14), now=now)
    with pytest.raises(ValidationError, match="already saved"):
        set_birthday(member=customer, birthday=date(1990, 5, 10), now=now)
    customer.refresh_from_db()
    assert customer.birthday == date(1990, 7, 14)


@pytest.fixture
def treats(shop):
    shop.birthday_points = 100
    shop.birthday_reward = RewardFactory(program=shop, name="Birthday cake", cost=500)
    shop.save()
    return shop


def test_the_birthday_treat_comes_in_the_birthday_month_once_a_year(treats, customer):
    set_birthday(member=customer, birthday=date(1990, 7, 14), now=local(date(2026, 5, 1)))

    assert give_birthday_treats(now=local(date(2026, 6, 30))) == 0
    assert give_birthday_treats(now=local(date(2026, 7, 1))) == 1
    assert give_birthday_treats(now=local(date(2026, 7, 2))) == 0

    assert balance(customer, treats) == 100
    gift = Redemption.objects.get(membership__member=customer)
    assert (gift.reward.name, gift.points, gift.cause_key) == ("Birthday cake", 0, "birthday:2026")
    email = OutboxEmail.objects.get(kind="birthday")
    assert "100 points" in email.body_text and gift.display_code in email.body_text

    # Next year, again.
    assert give_birthday_treats(now=local(date(2027, 7, 1))) == 1
    assert balance(customer, treats) == 200


def test_a_birthday_given_during_its_own_month_waits_for_next_year(treats, customer):
    set_birthday(member=customer, birthday=date(1990, 7, 14), now=local(date(2026, 7, 3)))
    assert give_birthday_treats(now=local(date(2026, 7, 20))) == 0
    assert give_birthday_treats(now=local(date(2027, 7, 1))) == 1


def test_a_member_without_reminders_gets_the_treat_but_no_email(treats):
    member = MemberFactory(user__emails_reminders=False)
    set_birthday(member=member, birthday=date(1990, 7, 14), now=local(date(2026, 1, 1)))
    assert give_birthday_treats(now=local(date(2026, 7, 1))) == 1
    assert balance(member, treats) == 100
    assert not OutboxEmail.objects.filter(kind="birthday").exists()


def test_an_out_of_stock_gift_still_leaves_the_points(treats, customer):
    treats.birthday_reward.stock = 0
    treats.birthday_reward.save()
    set_birthday(member=customer, birthday=date(1990, 7, 14), now=local(date(2026, 1, 1)))
    assert give_birthday_treats(now=local(date(2026, 7, 1))) == 1
    assert balance(customer, treats) == 100
    assert not Redemption.objects.exists()


def test_a_member_gives_their_birthday_on_the_card_page(client, member, django_assert_max_num_queries):
    client.force_login(member.user)
    with django_assert_max_num_queries(10):
        page = client.get(reverse("portal:card")).content.decode()
    assert "Save my birthday" in page

    response = client.post(reverse("portal:birthday"), {"birthday": "1991-02-03"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.birthday == date(1991, 2, 3)
    page = client.get(reverse("portal:card")).content.decode()
    assert "Save my birthday" not in page

    response = client.post(reverse("portal:birthday"), {"birthday": "1991-03-03"})
    assert response.status_code == 400
    assert "already saved" in response.content.decode()
    member.refresh_from_db()
    assert member.birthday == date(1991, 2, 3)
