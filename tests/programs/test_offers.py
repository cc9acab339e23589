"""One-off offers to a segment and we-miss-you emails."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from loyalty_site.models import OutboxEmail
from programs import offers, services
from programs.models import BonusCampaign, LedgerEntry, Offer, OfferGrant, Segment

from ..factories import MemberFactory

pytestmark = pytest.mark.django_db


def local(day, hour=12):
    return timezone.make_aware(datetime.combine(day, time(hour)))


@pytest.fixture
def everyone():
    return Segment.objects.create(name="Everyone")


def offer_for(shop, segment, multiplier="2", until=date(2026, 12, 6), **extra):
    return Offer.objects.create(program=shop, segment=segment, name="Double next visit",
                                multiplier=Decimal(multiplier), valid_until=until, **extra)


def buy(store, member, amount, when, receipt):
    purchase, _ = services.record_purchase(store=store, member=member, external_id=receipt,
                                           amount=amount, occurred_at=when, now=when)
    return purchase.points_earned.get("points", 0)


def test_an_offer_doubles_the_next_visit_only(shop, store, customer, everyone, manager):
    offer = offer_for(shop, everyone)
    assert offers.send_offer(offer=offer, actor=manager, now=local(date(2026, 12, 1))) == 1

    assert buy(store, customer, "100.00", local(date(2026, 12, 2)), "A") == 200
    assert buy(store, customer, "100.00", local(date(2026, 12, 3)), "B") == 100
    grant = OfferGrant.objects.get()
    assert grant.used_at is not None and grant.purchase.external_id == "A"
    assert "Double next visit ×2" in LedgerEntry.objects.get(purchase__external_id="A").reason


def test_an_offer_after_its_last_day_gives_nothing_and_stays_unused(shop, store, customer, everyone, manager):
    offers.send_offer(offer=offer_for(shop, everyone), actor=manager, now=local(date(2026, 12, 1)))
    assert buy(store, customer, "100.00", local(date(2026, 12, 7)), "A") == 100
    assert OfferGrant.objects.get().used_at is None


def test_a_bigger_campaign_leaves_the_offer_for_the_next_visit(shop, store, customer, everyone, manager):
    BonusCampaign.objects.create(program=shop, name="Triple day", multiplier=3,
                                 starts_on=date(2026, 12, 2), ends_on=date(2026, 12, 2))
    offers.send_offer(offer=offer_for(shop, everyone), actor=manager, now=local(date(2026, 12, 1)))
    assert buy(store, customer, "100.00", local(date(2026, 12, 2)), "A") == 300
    assert buy(store, customer, "100.00", local(date(2026, 12, 3)), "B") == 200


def test_only_the_segment_when_sent_gets_it_and_sending_twice_is_refused(shop, store, manager):
    big = MemberFactory()
    services.record_purchase(store=store, member=big, external_id="X", amount="900.00",
                             occurred_at=local(date(2026, 11, 1)), now=local(date(2026, 11, 1)))
    small = MemberFactory()
    spenders = Segment.objects.create(name="Spenders", spend_at_least=500)
    offer = offer_for(shop, spenders)
    assert offers.send_offer(offer=offer, actor=manager, now=local(date(2026, 12, 1))) == 1
    with pytest.raises(ValidationError, match="sent already"):
        offers.send_offer(offer=offer, actor=manager, now=local(date(2026, 12, 1)))
    assert list(OfferGrant.objects.values_list("member", flat=True)) == [big.pk]
    assert buy(store, small, "100.00", local(date(2026, 12, 2)), "S") == 100


def test_the_offer_email_goes_once_and_only_to_those_who_want_offers(shop, everyone, manager,
                                                                      django_capture_on_commit_callbacks):
    wants = MemberFactory(user__emails_offers=True)
    MemberFactory(user__emails_offers=False)
    offer = offer_for(shop, everyone, until=timezone.localdate() + timedelta(days=3))
    with django_capture_on_commit_callbacks(execute=True):
        offers.send_offer(offer=offer, actor=manager)
    offers.email_offer(offer.pk)
    emails = OutboxEmail.objects.filter(kind="offer")
    assert [e.to_email for e in emails] == [wants.user.email]
    assert "2 times the Points points" in emails[0].body_text


def test_an_offer_whose_email_task_never_ran_is_emailed_by_the_sweep_once(shop, everyone, manager):
    wants = MemberFactory(user__emails_offers=True)
    offer = offer_for(shop, everyone, until=timezone.localdate() + timedelta(days=3))
    sent = timezone.now()
    offers.send_offer(offer=offer, actor=manager, now=sent)  # its on-commit task is lost
    assert offers.email_unemailed_offers(now=sent + timedelta(minutes=5)) == 0  # still its task's
    assert offers.email_unemailed_offers(now=sent + timedelta(minutes=11)) == 1
    assert offers.email_unemailed_offers(now=sent + timedelta(minutes=21)) == 0
    assert [e.to_email for e in OutboxEmail.objects.filter(kind="offer")] == [wants.user.email]
    offer.refresh_from_db()
    assert offer.emailed_at == sent + timedelta(minutes=11)


def test_an_offer_past_its_last_day_cannot_be_sent(shop, everyone, manager):
    offer = offer_for(shop, everyone, until=date(2026, 11, 30))
    with pytest.raises(ValidationError, match="last day has passed"):
        offers.send_offer(offer=offer, actor=manager, now=local(date(2026, 12, 1)))
    assert not OfferGrant.objects.exists()


# --- We miss you ----------------------------------------------------------------------------


def test_a_lapsed_member_gets_one_we_miss_you_email_per_absence(shop, store, coffee):
    shop.winback_days = 60
    shop.save()
    lapsed = MemberFactory(user__emails_offers=True)
    long_gone = MemberFactory(user__emails_offers=True)
    regular = MemberFactory(user__emails_offers=True)
    now = local(date(2026, 12, 1))
    for member, days_ago, receipt in ((lapsed, 70, "L"), (long_gone, 200, "G"), (regular, 10, "R")):
        when = now - timedelta(days=days_ago)
        services.record_purchase(store=store, member=member, external_id=receipt, amount="150.00",
                                 occurred_at=when, now=when)

    assert offers.send_winback_reminders(now=now) == 1
    assert offers.send_winback_reminders(now=now + timedelta(days=1)) == 0
    email = OutboxEmail.objects.get(kind="winback")
    assert email.to_email == lapsed.user.email
    assert "70 days since your last visit" in email.body_text
    assert "150 Points points waiting" in email.body_text and "Coffee" in email.body_text


def test_no_we_miss_you_email_when_switched_off_or_unwanted(shop, store):
    lapsed = MemberFactory(user__emails_offers=False)
    when = local(date(2026, 9, 1))
    services.record_purchase(store=store, member=lapsed, external_id="L", amount="10.00",
                             occurred_at=when, now=when)
    assert offers.send_winback_reminders(now=local(date(2026, 12, 1))) == 0
    shop.winback_days = 60
    shop.save()
    assert offers.send_winback_reminders(now=local(date(2026, 11, 5))) == 0
    assert not OutboxEmail.objects.filter(kind="winback").exists()


# --- Pages ---------------------------------------------------------------------------------


def test_a_manager_writes_an_offer_sees_its_reach_and_sends_it(client, manager, shop, everyone,
                                                              django_assert_max_num_queries):
    MemberFactory.create_batch(3)
    client.force_login(manager)
    response = client.post(reverse("staff:offer_new"), {
        "name": "Come back", "program": shop.pk, "segment": everyone.pk, "multiplier": "2",
        "valid_until": str(timezone.localdate() + timedelta(days=7)), "message": "We miss you."})
    offer = Offer.objects.get()
    assert response.url == reverse("staff:offer", args=[offer.pk])
    with django_assert_max_num_queries(12):
        page = client.get(reverse("staff:offer", args=[offer.pk])).content.decode()
    assert "3 members would get it now." in page

    client.post(reverse("staff:offer_send", args=[offer.pk]))
    assert OfferGrant.objects.count() == 3
    with django_assert_max_num_queries(12):
        assert "Come back" in client.get(reverse("staff:offers")).content.decode()


def test_a_cashier_cannot_send_offers(client, cashier, shop, everyone):
    offer = offer_for(shop, everyone, until=timezone.localdate())
    client.force_login(cashier)
    assert client.post(reverse("staff:offer_send", args=[offer.pk])).status_code == 403
    assert not OfferGrant.objects.exists()


def test_a_member_sees_their_open_offers_with_the_rewards(client, shop, everyone, manager,
                                                          django_assert_max_num_queries):
    member = MemberFactory()
    offer = offer_for(shop, everyone, until=timezone.localdate() + timedelta(days=2),
                      message="Only this week.")
    offers.send_offer(offer=offer, actor=manager)
    other = MemberFactory()
    OfferGrant.objects.filter(member=other).delete()
    client.force_login(member.user)
    with django_assert_max_num_queries(15):
        page = client.get(reverse("portal:rewards")).content.decode()
    assert "Your offers" in page and "Double next visit" in page and "Only this week." in page
    client.force_login(other.user)
    assert "Double next visit" not in client.get(reverse("portal:rewards")).content.decode()
