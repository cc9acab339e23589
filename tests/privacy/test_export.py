"""Download all my data: JSON and a zip of CSV files, with my data and no one else's."""

import csv
import io
import json
import zipfile

import pytest
from django.dispatch import receiver
from django.urls import reverse

from loyalty_site import services as site_services
from loyalty_site.models import EmailCategory
from programs import services
from programs.signals import collect_member_data

from ..factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(shop, store, coffee, member):
    """The member bought twice, redeemed a coffee and got one email; someone else bought too."""
    services.record_purchase(store=store, member=member, external_id="MINE-1", amount="150.00")
    services.record_purchase(store=store, member=member, external_id="MINE-2", amount="20.00")
    services.redeem_reward(member=member, reward=coffee)
    site_services.queue_email(to=member.user.email, template="staff_invitation", user=member.user,
                              category=EmailCategory.ESSENTIAL,
                              context={"inviter": None, "set_password_url": "x", "sign_in_url": "y"})
    other = MemberFactory(user__email="other@example.com", user__name="Otto Other")
    services.record_purchase(store=store, member=other, external_id="THEIRS-1", amount="99.00")
    return member


def download(client, user, name):
    client.force_login(user)
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Disposition"].startswith("attachment;")
    return response


def test_the_json_download_holds_my_data_and_no_one_elses(client, history):
    document = json.loads(download(client, history.user, "portal:privacy_json").content)
    sections = document["sections"]
    assert sections["account"] == [{**sections["account"][0], "email": "member@example.com",
                                    "name": "Mia Member"}]
    assert sections["member_card"][0]["number"] == history.number
    assert [p["receipt"] for p in sections["purchases"]] == ["MINE-1", "MINE-2"]
    assert sections["memberships"][0]["balance"] == 70  # 170 earned, 100 spent on the coffee
    assert [e["kind"] for e in sections["ledger"]] == ["earn", "earn", "redeem"]
    assert sections["redemptions"][0]["reward"] == "Coffee"
    assert sections["emails_sent"][0]["to"] == "member@example.com"
    assert {row["category"] for row in sections["email_preferences"]} == {"reminders", "offers", "surveys"}
    text = json.dumps(document)
    assert "THEIRS-1" not in text and "other@example.com" not in text and "Otto" not in text


def test_the_csv_download_is_a_zip_with_a_file_per_section(client, history):
    archive = zipfile.ZipFile(io.BytesIO(download(client, history.user, "portal:privacy_csv").content))
    names = set(archive.namelist())
    assert {"account.csv", "member_card.csv", "memberships.csv", "ledger.csv", "purchases.csv",
            "redemptions.csv", "email_preferences.csv", "consents.csv", "emails_sent.csv"} <= names
    purchases = list(csv.DictReader(io.StringIO(archive.read("purchases.csv").decode("utf-8-sig"))))
    assert [(p["receipt"], p["amount"]) for p in purchases] == [("MINE-1", "150.00"), ("MINE-2", "20.00")]
    assert archive.read("consents.csv") == b""  # looked at, and empty
    everything = b"".join(archive.read(name) for name in names)
    assert b"THEIRS-1" not in everything and b"other@example.com" not in everything


def test_other_apps_add_their_sections_through_the_signal(client, history):
    @receiver(collect_member_data, weak=False)
    def referrals(sender, member, **kwargs):
        return {"referrals": [{"code": f"REF-{member.number}"}]}

    try:
        document = json.loads(download(client, history.user, "portal:privacy_json").content)
    finally:
        collect_member_data.disconnect(referrals)
    assert document["sections"]["referrals"] == [{"code": f"REF-{history.number}"}]


def test_a_section_name_taken_twice_is_an_error_not_an_overwrite(history):
    from programs.personal_data import member_data

    @receiver(collect_member_data, weak=False)
    def clash(sender, member, **kwargs):
        return {"ledger": []}

    try:
        with pytest.raises(ValueError, match="ledger"):
            member_data(history)
    finally:
        collect_member_data.disconnect(clash)


def test_a_person_without_a_card_gets_their_account(client, manager):
    document = json.loads(download(client, manager, "portal:privacy_json").content)
    assert document["sections"]["account"][0]["email"] == "manager@example.com"
    assert "member_card" not in document["sections"]


@pytest.mark.parametrize("name", ["portal:privacy", "portal:privacy_json", "portal:privacy_csv",
                                  "portal:close_account"])
def test_privacy_pages_have_bounded_queries_whatever_the_history(
    client, shop, store, member, name, django_assert_max_num_queries
):
    for n in range(30):
        services.record_purchase(store=store, member=member, external_id=f"R-{n}", amount="10.00")
    client.force_login(member.user)
    # The downloads read 19: three of them the paid memberships (docs/plans.md).
    with django_assert_max_num_queries(19):
        assert client.get(reverse(name)).status_code == 200


def test_downloads_need_a_signed_in_person(client):
    for name in ["portal:privacy", "portal:privacy_json", "portal:privacy_csv", "portal:close_account"]:
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
