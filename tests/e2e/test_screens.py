"""Every main page at phone, tablet and desktop width: it opens, nothing scrolls sideways.

The screenshots (artifacts/screens-<width>--<page>.png) are for a person to look at when the
layout changes; the test itself fails on a server error or on a page wider than the screen.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from loyalty_site.models import EmailCategory, OutboxEmail
from loyalty_site.roles import CASHIER, MANAGER
from tests.factories import MemberFactory, UserFactory

from .conftest import DESKTOP, PHONE, TABLET, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# name: (who is signed in, path, expected status)
SCREENS = {
    "portal-landing": (None, "/", 200),
    "sign-up": (None, "/accounts/signup/", 200),
    "sign-in": (None, "/accounts/login/", 200),
    "staff-login": (None, "/staff/login/", 200),
    "member-home": ("member", "/", 200),
    "email-preferences": ("member", "/preferences/email/", 200),
    "staff-not-staff": ("member", "/staff/", 403),
    "staff-overview": ("manager", "/staff/", 200),
    "staff-team": ("manager", "/staff/team/", 200),
    "staff-outbox": ("manager", "/staff/outbox/", 200),
    "member-points": ("member", "/points/", 200),
    "member-rewards": ("member", "/rewards/", 200),
    "member-codes": ("member", "/codes/", 200),
    "member-card": ("member", "/card/", 200),
    "staff-till": ("manager", "/staff/till/", 200),
    "staff-exports": ("manager", "/staff/exports/", 200),
    "staff-segments": ("manager", "/staff/segments/", 200),
    "staff-segment-new": ("manager", "/staff/segments/new/", 200),
    "staff-campaigns": ("manager", "/staff/campaigns/", 200),
    "staff-campaign-new": ("manager", "/staff/campaigns/new/", 200),
    "staff-offers": ("manager", "/staff/offers/", 200),
    "member-badges": ("member", "/badges/", 200),
}


def shop_with_people():
    people = {
        "member": MemberFactory(
            user__name="Agnieszka Wiśniewska-Lindqvist", user__email="agnieszka@example.com"
        ).user,
        "manager": UserFactory(name="Maria Manager", email="maria@example.com", role=MANAGER),
    }
    UserFactory(name="Carl Cashier", email="carl.cashier.at.the.long.store@example.com",
                role=CASHIER)
    now = timezone.now()
    for status, subject, error in [
        (OutboxEmail.Status.SENT, "[Patron Demo Shop] Please Confirm Your Email Address", ""),
        (OutboxEmail.Status.PENDING, "You are invited to the Patron Demo Shop staff dashboard",
         "SMTPServerDisconnected: Connection unexpectedly closed"),
        (OutboxEmail.Status.FAILED, "Your points expire next week",
         "SMTPRecipientsRefused: {'nobody@example.invalid': (550, b'5.1.1 No such user')}"),
    ]:
        OutboxEmail.objects.create(
            kind="test", category=EmailCategory.ESSENTIAL, to_email="someone@example.com",
            from_email="shop@example.com", subject=subject, body_text="Hello",
            status=status, last_error=error, attempts=1 if error else 0,
            next_attempt_at=now + timedelta(minutes=5),
        )
    return people


@pytest.mark.parametrize("viewport", [PHONE, TABLET, DESKTOP], ids=["phone", "tablet", "desktop"])
def test_screens(open_page, screenshot, viewport):
    people = shop_with_people()
    pages = {None: open_page(viewport)}
    pages.update({who: open_page(viewport, as_user=user) for who, user in people.items()})
    too_wide = {}
    for name, (who, path, status) in SCREENS.items():
        page = pages[who]
        response = page.goto(path)
        assert response.status == status, f"{name}: {path} answered {response.status}"
        expect(page.locator("h1").first).to_be_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            too_wide[name] = overflow
        screenshot(page, name)
    assert not too_wide, f"pages wider than {viewport['width']}px (by px): {too_wide}"

    # The account menu opens inside the screen, with every entry readable in full.
    page = pages["member"]
    page.goto("/")
    page.locator(".site-header details.dropdown > summary").click()
    menu = page.locator(".site-header details.dropdown > ul")
    expect(menu.get_by_role("link", name="Email preferences")).to_be_visible()
    box = menu.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], box
    cut_off = menu.evaluate(
        "ul => [...ul.querySelectorAll('a, button')]"
        ".filter(e => e.scrollWidth > e.clientWidth).map(e => e.textContent.trim())"
    )
    assert not cut_off, f"account menu entries cut off: {cut_off}"
    screenshot(page, "account-menu", full_page=False)
