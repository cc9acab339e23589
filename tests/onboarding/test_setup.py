"""The first-run setup, as the shop's owner meets it in the staff dashboard."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone

from loyalty_site.middleware import ShopTimeZoneMiddleware
from loyalty_site.models import StaffAction
from programs.business import business_profile, shop_currency
from programs.models import BusinessProfile, EarningRule, Plan, Program, Purchase, Reward, Store, Tier
from programs.money import format_money
from tests.factories import MemberFactory, StoreFactory

pytestmark = pytest.mark.django_db

BUSINESS = {"name": "Kawiarnia Róża", "currency": "pln", "time_zone": "Europe/Warsaw",
            "languages": ["pl", "en"]}
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
       b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
       b"\x00\x00IEND\xaeB`\x82")


def run_setup(client, template="points", **program):
    client.post(reverse("staff:setup_business"),
                {**BUSINESS, "logo": SimpleUploadedFile("logo.png", PNG, content_type="image/png")})
    client.post(reverse("staff:setup_stores"), {"stores": "Rynek 1\nDworcowa", "online": "on"})
    return client.post(reverse("staff:setup_program"),
                       {"template": template, "name": "Klub Róża", **program})


def test_the_staff_home_sends_a_superuser_on_an_empty_database_to_the_setup(client, owner):
    client.force_login(owner)
    response = client.get(reverse("staff:home"))
    assert response.status_code == 302
    assert client.get(response.url).url == reverse("staff:setup_business")


def test_the_setup_makes_the_business_stores_and_one_program_with_the_templates_defaults(
        client, owner, django_assert_max_num_queries):
    client.force_login(owner)
    for step in ("setup_business", "setup_stores", "setup_program"):
        with django_assert_max_num_queries(15):
            assert client.get(reverse(f"staff:{step}")).status_code == 200
    response = run_setup(client)
    assert response.url == reverse("staff:setup_done")

    profile = business_profile()
    assert (profile.name, profile.currency, profile.time_zone) == ("Kawiarnia Róża", "PLN",
                                                                   "Europe/Warsaw")
    assert profile.languages == ("en", "pl") and profile.logo_version
    assert shop_currency() == "PLN"
    assert sorted(Store.objects.values_list("code", "channel")) == [
        ("dworcowa", "in_store"), ("rynek-1", "in_store"), ("web-shop", "online")]
    program = Program.objects.get()
    assert (program.name, program.kind, program.pending_days, program.expiry_months,
            program.signup_points) == ("Klub Róża", "spend", 14, 12, 50)
    assert EarningRule.objects.get(program=program).points_per_unit == Decimal("1")
    assert Reward.objects.filter(program=program).count() == 2
    assert not Tier.objects.exists() and not Plan.objects.exists()
    assert StaffAction.objects.filter(actor=owner, action="programs.business_profile.saved").exists()

    # The home page no longer sends the owner away, and shows the business's name and logo.
    home = client.get(reverse("staff:home"))
    assert home.status_code == 200
    assert "Kawiarnia Róża" in home.text and f"/logo?v={profile.logo_version}" in home.text
    logo = client.get(reverse("portal:shop_logo"))
    assert logo.content == PNG and logo["Content-Type"] == "image/png"
    with django_assert_max_num_queries(12):
        assert "Patron is ready" in client.get(reverse("staff:setup_done")).text


def test_sending_every_step_again_changes_nothing(client, owner):
    client.force_login(owner)
    run_setup(client)
    run_setup(client)
    response = run_setup(client, template="stamps", **{"name": "Another club"})
    assert response.url == reverse("staff:setup_done")
    assert Store.objects.count() == 3
    assert Program.objects.count() == 1 and EarningRule.objects.count() == 1
    assert Reward.objects.count() == 2 and BusinessProfile.objects.count() == 1


@pytest.mark.parametrize(("template", "check"), [
    ("stamps", lambda p: p.kind == "visits" and p.earning_rules.get().points_per_visit == 1
     and p.expiry == "never" and p.rewards.get().cost == 10),
    ("tiered", lambda p: list(p.tiers.values_list("name", "threshold")) == [
        ("Bronze", 0), ("Silver", 500), ("Gold", 1500)] and p.tier_grace_days == 14),
    ("vip", lambda p: p.plans.get().price == Decimal("12.00") and p.plans.get().trial_days == 14),
])
def test_each_template_brings_its_own_defaults(client, owner, template, check):
    client.force_login(owner)
    run_setup(client, template=template, plan_price="12.00")
    assert check(Program.objects.get())


def test_bad_answers_are_explained_and_nothing_is_saved(client, owner):
    client.force_login(owner)
    response = client.post(reverse("staff:setup_business"), {
        "name": "Shop", "currency": "XXQ", "time_zone": "Mars/Olympus", "languages": ["en"]})
    assert response.status_code == 400
    assert "three-letter currency code" in response.text and "Choose a time zone" in response.text
    assert not BusinessProfile.objects.exists()
    response = client.post(reverse("staff:setup_stores"), {"stores": "  \n "})
    assert response.status_code == 400 and not Store.objects.exists()


def test_only_a_superuser_may_run_the_setup(client, manager, cashier, member):
    for person in (manager, cashier, member.user):
        client.force_login(person)
        for name in ("setup", "setup_business", "setup_stores", "setup_program", "setup_done"):
            assert client.get(reverse(f"staff:{name}")).status_code == 403
        assert client.post(reverse("staff:setup_business"), BUSINESS).status_code == 403
    assert not BusinessProfile.objects.exists()
    client.force_login(manager)
    assert client.get(reverse("staff:home")).status_code == 200


def test_the_currency_cannot_change_once_money_is_recorded(client, owner):
    client.force_login(owner)
    Purchase.objects.create(store=StoreFactory(), member=MemberFactory(), external_id="r1",
                            amount=Decimal("10"), currency="EUR")
    response = client.post(reverse("staff:setup_business"), BUSINESS)
    assert response.status_code == 400 and "cannot change" in response.text
    assert not BusinessProfile.objects.exists()


def test_the_chosen_currency_and_time_zone_are_what_pages_use(client, owner, rf):
    client.force_login(owner)
    client.post(reverse("staff:setup_business"), {**BUSINESS, "time_zone": "Asia/Tokyo"})
    assert format_money(Decimal("12.5"), language="pl") == "12,50\xa0zł"

    def view(request):
        return HttpResponse(timezone.get_current_timezone_name())

    assert ShopTimeZoneMiddleware(view)(rf.get("/")).content == b"Asia/Tokyo"
