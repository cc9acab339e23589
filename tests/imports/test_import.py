"""Importing customers and opening balances from CSV: check first, then all or nothing, once."""

import re
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import IntegrityError
from django.urls import reverse

from loyalty_site.models import StaffAction, User
from programs import imports, services
from programs.member_numbers import luhn_check_digit
from programs.models import CustomerImport, LedgerEntry, Member, Membership, PointLot, Program
from programs.selectors import ledger_breaches

pytestmark = pytest.mark.django_db

CARD = "123456789" + luhn_check_digit("123456789")

GOOD = (
    "email,name,phone,language,member_number,balance,joined\n"
    f"ana@example.com,Ana Andersson,070-111 22 33,sv,{CARD},250,2023-04-01\n"
    "bo@example.com,Bo Berg,,,,0,\n"
    "Member@Example.com,Someone Else,,,,40,\n"
).encode()


@pytest.fixture
def program(db):
    return Program.objects.create(name="Points", slug="points")


def check(client, manager, data, program, name="customers.csv"):
    client.force_login(manager)
    return client.post(reverse("staff:imports"), {
        "file": SimpleUploadedFile(name, data, content_type="text/csv"), "program": program.pk})


def confirm(client, response):
    sha256 = re.search(r'name="sha256" value="([0-9a-f]{64})"', response.content.decode()).group(1)
    program = re.search(r'name="program" value="(\d+)"', response.content.decode()).group(1)
    return client.post(reverse("staff:import_confirm"),
                       {"sha256": sha256, "program": program, "file_name": "customers.csv"}, follow=True)


def nothing_written(people_before):
    assert User.objects.count() == people_before
    assert not CustomerImport.objects.exists()
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.IMPORT).exists()


def test_a_good_file_is_previewed_then_imported_with_opening_balances(client, manager, member, program):
    people_before = User.objects.count()
    preview = check(client, manager, GOOD, program)
    page = preview.content.decode()
    assert preview.status_code == 200 and "Import 3 customers" in page
    nothing_written(people_before)  # the preview writes nothing

    page = confirm(client, preview).content.decode()
    assert "Imported 3 customers (2 new members) with 290 points" in page

    ana = Member.objects.select_related("user").get(user__email="ana@example.com")
    assert (ana.number, ana.user.name, ana.user.language, ana.joined_at.date().isoformat()) == (
        CARD, "Ana Andersson", "sv", "2023-04-01")
    assert not ana.user.has_usable_password()
    ana_points = Membership.objects.get(member=ana, program=program)
    assert (ana_points.balance, ana_points.available, ana_points.lifetime_earned) == (250, 250, 0)
    entry = LedgerEntry.objects.get(membership=ana_points)
    batch = CustomerImport.objects.get()
    assert (entry.kind, entry.points, entry.cause_key) == ("import", 250, f"import:{batch.pk}:row:2")
    assert entry.get_kind_display() == "Opening balance"
    # Bo has a card and a membership, and no entry for a zero balance.
    bo = Membership.objects.get(member__user__email="bo@example.com", program=program)
    assert bo.balance == 0 and not bo.entries.exists()
    # The existing member, found by email in any case, keeps their name and gets the points.
    member.user.refresh_from_db()
    assert member.user.name == "Mia Member"
    assert Membership.objects.get(member=member, program=program).balance == 40
    assert (batch.rows, batch.members_created, batch.points, batch.created_by) == (3, 2, 290, manager)
    assert StaffAction.objects.filter(action="programs.customers.imported", actor=manager).exists()
    assert list(ledger_breaches()) == []
    call_command("verify_ledger")


def test_the_same_file_twice_is_already_imported_and_writes_nothing(client, manager, program):
    confirm(client, check(client, manager, GOOD, program))
    people, entries = User.objects.count(), LedgerEntry.objects.count()
    again = check(client, manager, GOOD, program)
    assert again.status_code == 400 and "This file was imported into Points" in again.content.decode()
    assert "Import 3 customers" not in again.content.decode()
    with pytest.raises(services.ImportRefused, match="was imported"):
        services.import_customers(data=GOOD, program=program, actor=manager)
    assert (User.objects.count(), LedgerEntry.objects.count(), CustomerImport.objects.count()) == (
        people, entries, 1)


BROKEN = [
    ("wrong encoding", "email,name\nasa@example.com,Åsa\n".encode("latin-1"),
     ["Line 2: This line is not UTF-8 text."]),
    ("missing column", b"name,balance\nAna,10\n", ["Line 1: The file needs an \u201cemail\u201d column."]),
    ("unknown column", b"email,pionts\nana@example.com,10\n", ["Line 1: Unknown column \u201cpionts\u201d"]),
    ("duplicate emails", b"email\nana@example.com\nbo@example.com\nANA@example.com\n",
     ["Line 4: ANA@example.com is also on line 2."]),
    ("negative balance", b"email,balance\nana@example.com,-5\n",
     ["Line 2: The balance -5 is negative"]),
    ("unknown language", b"email,language\nana@example.com,xx\n",
     ["Line 2: Unknown language \u201cxx\u201d"]),
    ("bad email", b"email\nnot-an-email\n", ["Line 2: \u201cnot-an-email\u201d is not an email address."]),
    ("every error at once",
     b"email,balance,language,joined\nana@example.com,-1,en,\nbad,10,en,\nana@example.com,1,zz,2999-01-01\n"
     b"cy@example.com,ten,en,yesterday\n",
     ["Line 2: The balance -1 is negative", "Line 3: \u201cbad\u201d is not an email address.",
      "Line 4: Unknown language \u201czz\u201d", "Line 4: The date joined 2999-01-01 is in the future.",
      "Line 5: The balance \u201cten\u201d is not a whole number",
      "Line 5: \u201cyesterday\u201d is not a date"]),
]


@pytest.mark.parametrize(("case", "data", "expected"), BROKEN, ids=[case for case, *_rest in BROKEN])
def test_a_broken_file_shows_every_error_and_writes_nothing(client, manager, program, case, data, expected):
    people_before = User.objects.count()
    response = check(client, manager, data, program)
    page = response.content.decode().replace("&ldquo;", "\u201c").replace("&rdquo;", "\u201d")
    assert response.status_code == 400
    assert "Import " not in re.sub(r"Import customers", "", page)  # no import button
    with pytest.raises(services.ImportRefused) as refused:
        services.import_customers(data=data, program=program, actor=manager)
    for message in expected:
        assert any(m.startswith(message) for m in refused.value.messages), (message, refused.value.messages)
        table_text = message.split(": ", 1)[1] if message.startswith("Line ") else message
        assert table_text in page.replace("&#x27;", "'")
    nothing_written(people_before)


def test_a_failure_halfway_rolls_back_the_whole_file(manager, program):
    """People, cards, memberships and lots are written when the entries fail: all go."""
    people_before = User.objects.count()
    insert = imports._insert_select

    def fail_at_the_entries(model, *args, **kwargs):
        if model is LedgerEntry:
            raise IntegrityError("duplicate key value")
        return insert(model, *args, **kwargs)

    with mock.patch.object(imports, "_insert_select", side_effect=fail_at_the_entries), \
            pytest.raises(services.ImportRefused, match="nothing was imported"):
        services.import_customers(data=GOOD, program=program, actor=manager)
    nothing_written(people_before)
    assert not Member.objects.exists() and not PointLot.objects.exists()


def test_a_card_number_of_another_member_is_refused(member, program, manager):
    data = f"email,member_number\nnew@example.com,{member.number}\n".encode()
    with pytest.raises(services.ImportRefused, match="belongs to another member"):
        services.import_customers(data=data, program=program, actor=manager)


def test_semicolons_and_a_byte_order_mark_are_read(program, manager):
    data = "\ufeffEmail;Name;Points\nana@example.com;Ana Ångström;12\n".encode()
    batch = services.import_customers(data=data, program=program, actor=manager)
    assert batch.points == 12
    assert User.objects.get(email="ana@example.com").name == "Ana Ångström"


def test_what_a_member_owes_is_paid_off_first(member, program, manager):
    membership = Membership.objects.create(member=member, program=program, points_owed=30, balance=-30)
    LedgerEntry.objects.create(membership=membership, kind="reverse", points=-30, balance_after=-30)
    services.import_customers(data=b"email,balance\nmember@example.com,100\n", program=program, actor=manager)
    membership.refresh_from_db()
    assert (membership.balance, membership.points_owed) == (70, 0)
    assert PointLot.objects.get(membership=membership).remaining == 70
    assert list(ledger_breaches()) == []


def test_new_cards_are_announced_as_imported(program, manager):
    from programs.signals import member_enrolled

    seen = []

    def listen(sender, member, source, **kwargs):
        seen.append((member.user.email, source))

    member_enrolled.connect(listen, weak=False)
    try:
        services.import_customers(data=GOOD, program=program, actor=manager)
    finally:
        member_enrolled.disconnect(listen)
    assert sorted(seen) == [("Member@example.com", "import"), ("ana@example.com", "import"),
                            ("bo@example.com", "import")]


def test_the_command_checks_imports_and_refuses(tmp_path, program, capsys):
    path = tmp_path / "customers.csv"
    path.write_bytes(GOOD)
    call_command("import_customers", str(path), "--program", "points", "--dry-run")
    assert "3 customers (3 new, 0 known by email), 290 points" in capsys.readouterr().out
    assert not User.objects.exists()
    call_command("import_customers", str(path), "--program", "points")
    assert CustomerImport.objects.get().rows == 3
    with pytest.raises(CommandError):
        call_command("import_customers", str(path), "--program", "points")
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"email,balance\nx@example.com,-1\n")
    with pytest.raises(CommandError, match="1 error"):
        call_command("import_customers", str(broken), "--program", "points", "--dry-run")
    assert "line 2: The balance -1 is negative" in capsys.readouterr().err


def test_only_managers_import(client, cashier, program):
    client.force_login(cashier)
    assert client.get(reverse("staff:imports")).status_code == 403
    assert client.post(reverse("staff:import_confirm"), {}).status_code == 403


def test_the_import_page_has_bounded_queries(client, manager, program, django_assert_max_num_queries):
    for n in range(3):
        services.import_customers(data=f"email,balance\np{n}@example.com,5\n".encode(), program=program,
                                  actor=manager, file_name=f"f{n}.csv")
    client.force_login(manager)
    with django_assert_max_num_queries(10):
        assert client.get(reverse("staff:imports")).status_code == 200
    rows = "".join(f"c{n}@example.com,{n}\n" for n in range(200))
    # The same whatever the rows: six of them sign the manager in again.
    with django_assert_max_num_queries(16):
        assert check(client, manager, f"email,balance\n{rows}".encode(), program).status_code == 200
