"""The journeys people make through the real pages, in Chromium.

A visitor joins and confirms their email; a manager adds a cashier from a tablet; a member who
wanders into the staff dashboard is turned away politely.
"""

import re

import pytest
from django.core import mail

from loyalty_site.models import OutboxEmail, User
from loyalty_site.roles import CASHIER, MANAGER
from programs.models import Member
from tests.factories import DEFAULT_PASSWORD, MemberFactory, UserFactory

from .conftest import PHONE, TABLET, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "plum-orchard-lantern-42"


def link_in(text):
    """The one http(s) link in an email's text body."""
    links = re.findall(r"https?://\S+", text)
    assert len(links) == 1, f"expected one link in the email, found {links!r}"
    return links[0]


def test_visitor_joins_and_confirms_their_email(open_page, screenshot, live_server):
    page = open_page(PHONE)
    page.goto("/")
    page.get_by_role("button", name="Join", exact=True).click()  # a link styled as a button

    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))
    page.get_by_label("Your name").fill("Nora Newcomer")
    page.get_by_label("Email", exact=True).fill("nora@example.com")
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Password (again)").fill(NEW_PASSWORD)
    screenshot(page, "sign-up")
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("verify your email", re.I))
    assert not User.objects.get(email="nora@example.com").emailaddress_set.get().verified

    # The email went through the outbox and was sent by the (eager) Celery task.
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["nora@example.com"]
    assert OutboxEmail.objects.get(to_email="nora@example.com").status == OutboxEmail.Status.SENT
    assert email.body.strip(), "the email has a text body"
    html = [body for body, mimetype in email.alternatives if mimetype == "text/html"]
    assert len(html) == 1, "the email has an HTML part"
    assert "<html" in html[0]

    confirm_url = link_in(email.body)
    # Links in emails point at SITE_URL; the test opens the same path on the live server.
    path = re.sub(r"^https?://[^/]+", "", confirm_url)
    assert path.startswith("/accounts/confirm-email/")
    assert path in html[0], "the HTML part carries the same confirmation link"
    page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("confirm", re.I))
    page.get_by_role("button", name="Confirm").click()

    # Confirming signs the new member in and lands them on their card.
    expect(page).to_have_url(f"{live_server.url}/")
    member = Member.objects.get(user__email="nora@example.com")
    expect(page.get_by_test_id("member-number")).to_have_text(member.display_number)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Nora")
    assert User.objects.get(email="nora@example.com").emailaddress_set.get().verified
    screenshot(page, "member-home-phone")


def test_manager_adds_a_cashier_from_a_tablet(open_page, screenshot):
    manager = UserFactory(name="Maria Manager", email="maria@example.com", role=MANAGER)
    page = open_page(TABLET)
    page.goto("/staff/login/")
    page.get_by_label("Email address").fill(manager.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    expect(page.get_by_test_id("members")).to_be_visible()
    page.get_by_role("link", name="Team", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Team")
    page.get_by_label("Name").fill("Carl Cashier")
    page.get_by_label("Email address").fill("carl@example.com")
    expect(page.get_by_label("Role")).to_have_value(CASHIER)
    page.get_by_role("button", name="Add to the team").click()

    expect(page.get_by_role("status")).to_contain_text("Carl Cashier is on the team")
    row = page.get_by_role("row").filter(has_text="carl@example.com")
    expect(row).to_contain_text("Carl Cashier")
    expect(row).to_contain_text("Cashier")
    assert User.objects.get(email="carl@example.com").groups.filter(name=CASHIER).exists()
    assert [m.to for m in mail.outbox] == [["carl@example.com"]], "the invitation was sent"
    screenshot(page, "team-tablet")


def test_member_who_opens_the_staff_dashboard_is_turned_away(open_page, screenshot):
    member = MemberFactory(user__name="Mia Member", user__email="mia@example.com")
    page = open_page(PHONE)
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(member.user.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("member-number")).to_have_text(member.display_number)

    response = page.goto("/staff/")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff only")
    expect(page.get_by_role("button", name="Go to my member card")).to_be_visible()
    screenshot(page, "not-staff-phone")
