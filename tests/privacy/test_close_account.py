"""Closing an account: the person is gone and unfindable, the shop's totals stay true."""

import pytest
from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.dispatch import receiver
from django.test import Client
from django.urls import reverse

from loyalty_site import privacy
from loyalty_site import services as site_services
from loyalty_site.models import Consent, EmailCategory, OutboxEmail, StaffAction, User
from programs import selectors, services
from programs.models import LedgerEntry, Member, Membership, Purchase, Redemption
from programs.selectors import ledger_breaches
from programs.signals import member_closing

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(shop, store, coffee, member):
    """Points, a used code, an unused code, an email and a consent."""
    user = member.user
    user.phone = "070-123 45 67"
    user.save()
    services.record_purchase(store=store, member=member, external_id="R-1", amount="350.00")
    used = services.redeem_reward(member=member, reward=coffee)
    services.use_redemption(code=used.code, store=store)
    services.redeem_reward(member=member, reward=coffee)
    site_services.update_email_preferences(user=user, reminders=True, offers=True, surveys=False,
                                           wording={"reminders": "Reminders", "offers": "Offers"})
    site_services.queue_email(to=user.email, template="staff_invitation", user=user,
                              category=EmailCategory.ESSENTIAL,
                              context={"inviter": None, "set_password_url": "x", "sign_in_url": "y"})
    return member


def close(client, member, password):
    client.force_login(member.user)
    return client.post(reverse("portal:close_account"), {"password": password})


def test_a_wrong_password_closes_nothing(client, history):
    response = close(client, history, "not-my-password")
    assert response.status_code == 400
    assert "That is not your password." in response.content.decode()
    user = User.objects.get(pk=history.user.pk)
    assert user.email == "member@example.com" and user.is_active
    assert Member.objects.get(pk=history.pk).closed_at is None


def test_closing_removes_the_person_and_keeps_the_ledger_true(client, history, password, store):
    balance_before = Membership.objects.get(member=history).balance
    other_session = Client()
    other_session.force_login(history.user)

    response = close(client, history, password)

    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    user = User.objects.get(pk=history.user.pk)
    assert user.email.startswith("closed-") and user.email.endswith("@closed.invalid")
    assert (user.name, user.phone, user.is_active, user.has_usable_password()) == ("", "", False, False)
    assert not (user.emails_reminders or user.emails_offers or user.emails_surveys)
    assert not EmailAddress.objects.filter(user=user).exists()
    # Both sessions are over: this browser's and the one on another device.
    assert not client.get(reverse("portal:privacy")).wsgi_request.user.is_authenticated
    assert not other_session.get(reverse("portal:privacy")).wsgi_request.user.is_authenticated
    assert not client.login(email="member@example.com", password=password)

    # The unused code is cancelled and its points back; the used one stays used.
    statuses = sorted(Redemption.objects.filter(membership__member=history).values_list("status", flat=True))
    assert statuses == ["cancelled", "used"]
    membership = Membership.objects.get(member=history)
    assert membership.balance == balance_before + 100
    assert LedgerEntry.objects.filter(membership=membership).count() == 4  # earn, 2 redeem, cancel
    assert Purchase.objects.filter(member=history).count() == 1
    assert list(ledger_breaches()) == []
    call_command("verify_ledger")

    # Nobody finds the card any more, by number, email or phone; the number stays on the card.
    member = Member.objects.get(pk=history.pk)
    assert member.number == history.number and member.closed_at is not None
    assert selectors.till_member(history.number) is None
    assert selectors.member_by_number(history.number) is None
    assert selectors.member_by_reference("member@example.com") is None
    assert selectors.find_members(history.number) == []
    assert selectors.find_members("0701234567") == []
    assert User.objects.filter(email__iexact="member@example.com").count() == 0

    # The emails sent keep only that they were sent; the consents stay, withdrawn.
    email = OutboxEmail.objects.get(user=user)
    assert (email.to_email, email.subject, email.body_text, email.body_html) == (user.email, "", "", "")
    consent = Consent.objects.get(user=user)
    assert consent.kind == "email_offers" and consent.withdrawn_at is not None

    log = StaffAction.objects.get(action="loyalty_site.account.closed")
    assert log.data == {"user": user.pk, "member": history.number}


def test_the_till_no_longer_opens_the_card(client, history, password, cashier):
    close(Client(), history, password)
    client.force_login(cashier)
    assert client.get(reverse("staff:till_member", args=[history.number])).status_code == 404


def test_other_apps_anonymise_their_rows_while_the_email_is_still_known(history, password):
    seen = []

    @receiver(member_closing, weak=False)
    def anonymise(sender, member, now, **kwargs):
        seen.append((member.pk, member.user.email, member.closed_at == now))

    try:
        privacy.close_account(user=history.user)
    finally:
        member_closing.disconnect(anonymise)
    assert seen == [(history.pk, "member@example.com", True)]


def test_closing_twice_changes_nothing_the_second_time(history):
    user = privacy.close_account(user=history.user)
    again = privacy.close_account(user=user)
    assert again.email == user.email
    assert StaffAction.objects.filter(action="loyalty_site.account.closed").count() == 1


def test_a_member_of_staff_is_sent_to_a_manager_first(client, manager, password):
    client.force_login(manager)
    response = client.post(reverse("portal:close_account"), {"password": password}, follow=True)
    assert "Ask a manager to take you off the team first." in response.content.decode()
    assert User.objects.get(pk=manager.pk).email == "manager@example.com"
    with pytest.raises(ValidationError):
        privacy.close_account(user=manager)


def test_a_person_without_a_password_is_asked_to_choose_one(client, member):
    member.user.set_unusable_password()
    member.user.save()
    client.force_login(member.user)
    response = client.get(reverse("portal:close_account"))
    assert reverse("account_set_password") in response.content.decode()
    assert 'name="password"' not in response.content.decode()


def test_guessing_the_password_is_slowed_down(client, member, password):
    for _attempt in range(5):
        assert close(client, member, "guess").status_code == 400
    assert close(client, member, password).status_code == 429
    assert User.objects.get(pk=member.user.pk).is_active


def test_a_gift_code_is_cancelled_too(member, coffee):
    """A code given free (a referral's gift) has no points to give back; it is cancelled all the same."""
    gift, _created = services.grant_reward(member=member, reward=coffee, cause_key="referral:1:friend")
    privacy.close_account(user=member.user)
    gift.refresh_from_db()
    assert gift.status == Redemption.Status.CANCELLED
    assert not LedgerEntry.objects.filter(redemption=gift).exists()
    assert list(ledger_breaches()) == []
