"""The newcomer's journey, end to end in Chromium, as three people see it.

Bo hears of the shop from Anna's share link and does everything on her phone, in Polish (her
browser asks for Polish): she signs up, confirms her email from the link in the email, buys for
the first time, answers the one-click survey from its email, spends her points on a reward and
reads all of it in the portal. Carl the cashier serves her on a tablet held upright, with his
fingers. Maria the manager reads the dashboard on a desktop.

What Bo reads is checked against the Polish catalogue (`pl()`), so an untranslated string on her
way fails the test. Screenshots: artifacts/newcomers_journey--<step>.png.
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext, ngettext

from loyalty_site.models import User
from programs.models import Member, Membership, Program, Redemption, Reward
from programs.services import change_earning_rule
from referrals import services as referrals
from referrals.models import Referral, ReferralProgramSettings
from referrals.tasks import run_referral_schedule
from surveys.models import Answer, Invitation, Survey
from surveys.tasks import send_due_invitations
from tests.factories import DEFAULT_PASSWORD, MemberFactory, StoreFactory, UserFactory

from .conftest import DESKTOP, PHONE, TABLET, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "plum-orchard-lantern-42"
PURCHASE = Decimal("120.00")  # over the referral's qualifying minimum of 100 zł
FRIEND_POINTS, REFERRER_POINTS, SURVEY_POINTS = 200, 500, 20
COFFEE_COST = 150


def pl(message, *args, **kwargs):
    """`message` as the Polish catalogue has it; fails when it is not translated."""
    with translation.override("pl"):
        text = gettext(message) if not args else ngettext(message, *args)
    assert text != message, f"not translated into Polish: {message!r}"
    return text % kwargs if kwargs else text


def path_of(url):
    """Links in emails point at SITE_URL; the test opens the same path on the live server."""
    return re.sub(r"^https?://[^/]+", "", url)


@pytest.fixture
def shop(settings):
    """A Polish shop as a manager would set it up: one store, a points program earning a point
    per złoty, referrals paying both sides at once (no review period), an NPS survey after each
    purchase worth a few points, and a coffee for 150 points."""
    settings.SHOP_CURRENCY = "PLN"
    settings.SURVEY_DWELL_SECONDS = 600  # Bo confirms with the button, not by waiting
    store = StoreFactory(code="main", name="Main Street")
    program = Program.objects.create(name="Points", slug="points", kind=Program.Kind.SPEND,
                                     pending_days=0)
    change_earning_rule(program=program, actor=None, points_per_unit=Decimal("1"),
                        effective_from=timezone.now() - timedelta(days=1))
    ReferralProgramSettings.objects.create(
        program=program, referrer_points=REFERRER_POINTS, friend_points=FRIEND_POINTS,
        minimum_amount=Decimal("100"), review_days=0)
    survey = Survey.objects.create(name="After a visit", kind=Survey.Kind.NPS,
                                   send_after_purchase=True, delay_hours=0, points=SURVEY_POINTS,
                                   points_program=program)
    coffee = Reward.objects.create(program=program, name="Kawa", kind=Reward.Kind.FREE_PRODUCT,
                                   cost=COFFEE_COST)
    anna = MemberFactory(user__email="anna@example.com", user__name="Anna Berg")
    referrals.referral_code_for(anna)
    return {"store": store, "program": program, "survey": survey, "coffee": coffee, "anna": anna,
            "cashier": UserFactory(email="carl@example.com", name="Carl Cashier", role="cashier"),
            "manager": UserFactory(email="maria@example.com", name="Maria Manager", role="manager")}


def test_newcomers_journey(open_page, screenshot, shop, live_server):
    anna = shop["anna"]
    bo = open_page(PHONE, locale="pl-PL")

    # 1. Anna's link: sign-up, in Polish, with her code filled in.
    code = anna.referral_code.display_code
    bo.goto(f"/r/{code}")
    expect(bo).to_have_url(re.compile(r"/accounts/signup/$"))
    expect(bo.locator("html")).to_have_attribute("lang", "pl")
    expect(bo.get_by_role("heading", level=1)).to_have_text(pl("Sign Up"))
    expect(bo.get_by_label(pl("Referral code"))).to_have_value(code)
    bo.get_by_label(pl("Your name")).fill("Bożena Nowak")
    bo.get_by_label(pl("Email"), exact=True).fill("bozena@example.com")
    bo.get_by_label(pl("Password"), exact=True).fill(PASSWORD)
    bo.get_by_label(pl("Password (again)")).fill(PASSWORD)
    screenshot(bo, "01-sign-up-from-a-friends-link")
    bo.get_by_role("button", name=pl("Sign Up")).click()

    # 2. The confirmation email, in Polish; its link opened in the browser.
    expect(bo.get_by_role("heading", level=1)).to_have_text(pl("Verify Your Email Address"))
    # She is told who invited her (the words are the catalogue's, the name is Anna's).
    expect(bo.get_by_role("status")).to_contain_text("Anna B.")
    screenshot(bo, "02-check-your-email")
    user = User.objects.get(email="bozena@example.com")
    assert not user.emailaddress_set.get().verified
    assert user.language == "pl"  # what her browser asked for, kept for the emails to come
    [email] = mail.outbox
    assert email.to == ["bozena@example.com"]
    assert pl("Please Confirm Your Email Address") in email.subject
    links = re.findall(r"https?://\S+", email.body)
    assert len(links) == 1, links
    bo.goto(path_of(links[0]))
    expect(bo.get_by_role("heading", level=1)).to_have_text(pl("Confirm Email Address"))
    screenshot(bo, "03-confirm-email")
    bo.get_by_role("button", name=pl("Confirm")).click()
    expect(bo.get_by_role("heading", level=1)).to_have_text(pl("Hello, %(name)s", name="Bożena"))
    member = Member.objects.get(user__email="bozena@example.com")
    expect(bo.get_by_test_id("member-number")).to_have_text(member.display_number)
    assert User.objects.get(pk=user.pk).emailaddress_set.get().verified
    referral = Referral.objects.get(friend=member)
    assert (referral.referrer, referral.status) == (anna, Referral.Status.JOINED)
    screenshot(bo, "04-member-card")

    # 3. At the till: Carl, on a tablet held upright, taps through Bo's first purchase.
    carl = open_page(TABLET, touch=True)
    carl.goto("/staff/login/")
    carl.get_by_label("Email address").fill(shop["cashier"].email)
    carl.get_by_label("Password").fill(DEFAULT_PASSWORD)
    carl.get_by_role("button", name="Sign in").tap()
    expect(carl.get_by_role("heading", level=1)).to_have_text("Overview")
    carl.get_by_role("link", name="Till", exact=True).tap()
    expect(carl.get_by_role("heading", level=1)).to_have_text("Till")
    # The search box has the focus: Carl types the number from Bo's card and presses Enter.
    search = carl.get_by_label("Member number, email or phone")
    expect(search).to_be_focused()
    search.fill(member.display_number)
    search.press("Enter")
    expect(carl.get_by_role("heading", name="Bożena Nowak")).to_be_visible()
    expect(carl.get_by_label("Amount", exact=True)).to_be_focused()
    carl.get_by_label("Amount", exact=True).fill("120,00")
    screenshot(carl, "05-till-first-purchase-tablet", full_page=False)
    carl.get_by_role("button", name="Record purchase").tap()
    status = carl.get_by_role("status")
    expect(status).to_contain_text("120 points")
    expect(status).to_contain_text("The referral by Anna B. qualifies with this purchase.")
    expect(carl.get_by_test_id("available-points")).to_have_text("120")
    top_bar = carl.locator(".staff-nav").bounding_box()
    assert status.bounding_box()["y"] >= top_bar["y"] + top_bar["height"], \
        "the till's message hides under the sticky top bar"
    screenshot(carl, "06-till-purchase-recorded-tablet", full_page=False)
    referral.refresh_from_db()
    assert referral.status == Referral.Status.QUALIFIED
    assert referral.purchase.amount == PURCHASE

    # 4. The hourly referral run pays both sides: the review period is over (none in this shop).
    assert run_referral_schedule.delay().get() == {"decided": 0, "closed": 0, "paid": 1}
    referral.refresh_from_db()
    assert referral.status == Referral.Status.REWARDED
    assert balance(member) == 120 + FRIEND_POINTS
    assert balance(anna) == REFERRER_POINTS

    # 5. The survey the purchase triggered is emailed (the five-minute run), in Polish.
    invitation = Invitation.objects.get(member=member, survey=shop["survey"])
    assert invitation.purchase == referral.purchase
    mail.outbox.clear()
    assert send_due_invitations.delay().get() == {"sent": 1}
    [email] = mail.outbox
    assert email.to == ["bozena@example.com"]
    with translation.override("pl"):
        question = shop["survey"].questions()[0][1]
    assert str(question) in email.body
    links = re.findall(r"https?://\S+/s/[^/\s]+/", email.body)
    assert len(links) == 11  # 0 to 10, each its own link

    # Bo taps "10", then presses the button herself: her answer counts.
    bo.goto(path_of(links[10]))
    expect(bo.get_by_role("heading", level=1)).to_have_text(pl("Thank you!"))
    expect(bo.get_by_label("10", exact=True)).to_be_checked()
    screenshot(bo, "07-survey-answer-from-the-email")
    bo.get_by_label(pl("Anything you would like to tell us? (optional)")).fill("Pyszne cynamonowe bułeczki")
    bo.get_by_role("button", name=pl("Send my answer")).click()
    expect(bo.get_by_text(pl("Your answer is saved."))).to_be_visible()
    expect(bo.get_by_role("button", name=pl("Invite a friend"))).to_be_visible()
    screenshot(bo, "08-survey-thank-you")
    answer = Answer.objects.get(invitation=invitation)
    assert (answer.value, answer.status) == (10, Answer.Status.CONFIRMED)
    invitation.refresh_from_db()
    assert invitation.comment.text == "Pyszne cynamonowe bułeczki"
    assert balance(member) == 120 + FRIEND_POINTS + SURVEY_POINTS

    # 6. Bo spends 150 points on a coffee in the portal...
    # On a phone the way to the rewards is the shop's name (home), then the rewards tile.
    bo.get_by_role("link", name="Patron Demo Shop").click()
    bo.locator(".quick-links").get_by_role("link", name=re.compile(pl("Rewards"))).click()
    expect(bo.get_by_role("heading", level=1)).to_have_text(pl("Rewards"))
    bo.get_by_test_id(f"reward-{shop['coffee'].pk}").get_by_role("button", name=pl("Redeem")).click()
    screenshot(bo, "09-redeem-confirm")
    bo.get_by_role("button", name=re.compile("150")).click()
    expect(bo.get_by_role("status")).to_contain_text(pl("Done! Show this code at the till."))
    redemption = Redemption.objects.get(membership__member=member)
    expect(bo.get_by_test_id("redemption-code")).to_have_text(redemption.display_code)
    screenshot(bo, "10-reward-code")

    # ...and Carl types the code she shows him into the till's code form.
    carl.get_by_role("link", name="Till", exact=True).tap()
    carl.get_by_role("textbox", name="Reward code").fill(redemption.display_code.lower())
    carl.get_by_role("button", name="Accept code").tap()
    expect(carl.get_by_role("status")).to_contain_text(
        f"Code {redemption.display_code} accepted: give Bożena Nowak the reward “Kawa”.")
    screenshot(carl, "11-till-code-accepted-tablet", full_page=False)
    redemption.refresh_from_db()
    assert redemption.used_at is not None and redemption.used_store == shop["store"]
    left = 120 + FRIEND_POINTS + SURVEY_POINTS - COFFEE_COST
    assert balance(member) == left

    # 7. All of it in Bo's portal, in Polish.
    bo.goto("/")
    expect(bo.get_by_test_id("balance-points")).to_contain_text(str(left))
    screenshot(bo, "12-home")
    bo.get_by_test_id("balance-points").get_by_role("link").click()
    ledger = bo.get_by_test_id("ledger")
    expect(ledger.get_by_role("listitem")).to_have_count(4)
    expect(ledger).to_contain_text(pl("Reward: %(reward)s", reward="Kawa"))
    expect(ledger).to_contain_text(pl("Thank you for answering our survey"))
    # Written by the referral run in the worker, yet in Bo's language.
    expect(ledger).to_contain_text(pl("Welcome: referred by %(name)s", name="Anna B."))
    expect(ledger).to_contain_text(pl("Purchase at %(store)s, receipt %(receipt)s",
                                      store="Main Street", receipt=referral.purchase.external_id))
    screenshot(bo, "13-points-history")
    bo.goto("/codes/")
    used = bo.locator(".codes-past li").filter(has_text=redemption.display_code)
    with translation.override("pl"):
        used_on = date_format(timezone.localtime(redemption.used_at), "DATE_FORMAT")
    expect(used).to_contain_text(pl("Used on %(date)s at %(store)s", date=used_on, store="Main Street"))
    screenshot(bo, "14-my-codes")
    bo.goto("/surveys/")
    screenshot(bo, "15-my-surveys")
    bo.goto("/referrals/")
    screenshot(bo, "16-invite-friends")

    # 8. Maria reads the dashboard: a new member, a purchase, a referral rewarded.
    maria = open_page(DESKTOP, as_user=shop["manager"])
    maria.goto("/staff/")
    expect(maria.get_by_test_id("members")).to_have_text("2")
    screenshot(maria, "17-dashboard-overview")
    maria.get_by_role("link", name="Referrals", exact=True).click()
    row = maria.get_by_role("row").filter(has_text="Bożena Nowak")
    expect(row).to_contain_text("Anna Berg")
    expect(row).to_contain_text("Share link")
    expect(row).to_contain_text("Rewarded")
    screenshot(maria, "18-dashboard-referrals")
    maria.get_by_role("link", name="Surveys", exact=True).click()
    row = maria.get_by_role("row").filter(has_text="After a visit")
    expect(row).to_contain_text("right after a purchase")
    expect(row.get_by_role("cell")).to_have_text(
        ["After a visit", re.compile("NPS"), "right after a purchase", "1", "1", "active"])
    screenshot(maria, "19-dashboard-surveys")


def balance(member):
    return Membership.objects.get(member=member).balance
