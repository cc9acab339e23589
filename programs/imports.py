"""Existing customers and their opening balances, imported from a CSV file (docs/import.md).

Two steps, as a manager meets them. `check_customer_file` reads the whole file and writes
nothing: the preview, with every error by line. `import_customers` checks it again inside one
transaction and writes it all, set-based, or nothing. A file is known by its SHA-256: the same
file into the same program a second time is "already imported" and writes nothing.
"""

import csv
import hashlib
import io
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_site.services import log_staff_action

from . import ledger, signals
from .member_numbers import is_valid_member_number, new_member_number
from .models import CustomerImport, LedgerEntry, Member, Membership, PointLot
from .points import MAX_ADJUSTMENT

# The columns a file may have, each with the header names it is recognised by (any case; spaces
# and dashes read as underscores). Only the email is required.
COLUMNS = {
    "email": ("email", "e_mail", "email_address"),
    "name": ("name", "full_name"),
    "phone": ("phone", "phone_number", "mobile"),
    "language": ("language", "lang"),
    "member_number": ("member_number", "card_number", "number"),
    "balance": ("balance", "points", "opening_balance"),
    "joined": ("joined", "joined_at", "member_since"),
}
HEADER_NAMES = {alias: column for column, aliases in COLUMNS.items() for alias in aliases}
MAX_ROWS = 200_000
# Reads of existing people and cards, this many values per query.
CHUNK = 5000


@dataclass
class CustomerRow:
    line: int
    email: str
    name: str = ""
    phone: str = ""
    language: str = ""
    member_number: str = ""
    balance: int = 0
    joined_at: datetime | None = None


@dataclass
class CustomerFile:
    """What a file holds and whether it can be imported: `errors` is [(line, message)], line 0
    for the file as a whole."""

    sha256: str
    rows: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    imported: CustomerImport | None = None
    existing_people: int = 0
    # {lowercased email: (user id, member id or None, member number or None)} of known people.
    people: dict = field(default_factory=dict)

    @property
    def can_import(self):
        return not self.errors and not self.imported and bool(self.rows)

    @property
    def points(self):
        return sum(row.balance for row in self.rows)

    @property
    def new_people(self):
        return len(self.rows) - self.existing_people


def _decode(data, errors):
    """The file's text, or None after noting each line that is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        for number, line in enumerate(data.split(b"\n"), 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                errors.append((number, _("This line is not UTF-8 text. Save the file as "
                                         "“CSV UTF-8” and upload it again.")))
        return None


def _delimiter(header_line):
    # Spreadsheets in much of Europe save CSV with semicolons; take whichever the header uses.
    return max([",", ";", "\t"], key=header_line.count)


def _columns(header, errors):
    """{column: index} from the header row, noting unknown, repeated and missing columns."""
    columns = {}
    for index, name in enumerate(header):
        key = name.strip().lower().replace(" ", "_").replace("-", "_")
        column = HEADER_NAMES.get(key)
        if column is None:
            errors.append((1, _("Unknown column “%(name)s”. The columns are: %(columns)s.")
                           % {"name": name.strip(), "columns": ", ".join(COLUMNS)}))
        elif column in columns:
            errors.append((1, _("The column “%(name)s” appears twice.") % {"name": column}))
        else:
            columns[column] = index
    if "email" not in columns:
        errors.append((1, _("The file needs an “email” column.")))
    return columns


def _joined(text):
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if isinstance(moment, datetime) and len(text) <= 10:
        moment = datetime.combine(date.fromisoformat(text), time(12))
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def _read_row(line, values, columns, languages, now, errors):
    """A CustomerRow from one line's values, or None after noting what is wrong with it."""
    def value(column):
        index = columns.get(column)
        return values[index].strip() if index is not None and index < len(values) else ""

    found = []
    row = CustomerRow(line=line, email=value("email"), name=value("name"), phone=value("phone"),
                      language=value("language").lower(),
                      member_number="".join(value("member_number").split()).replace("-", ""))
    try:
        validate_email(row.email)
    except ValidationError:
        found.append(_("“%(email)s” is not an email address.") % {"email": row.email}
                     if row.email else _("The email address is missing."))
    if len(row.name) > 150:
        found.append(_("The name is longer than 150 characters."))
    if len(row.phone) > 32:
        found.append(_("The phone number is longer than 32 characters."))
    if row.language and row.language not in languages:
        found.append(_("Unknown language “%(language)s”; use one of: %(codes)s.")
                     % {"language": row.language, "codes": ", ".join(sorted(languages))})
    if row.member_number and not is_valid_member_number(row.member_number):
        found.append(_("“%(number)s” is not a member number (ten digits, the last a check digit).")
                     % {"number": value("member_number")})
    balance = value("balance")
    if balance:
        try:
            row.balance = int(balance)
        except ValueError:
            found.append(_("The balance “%(balance)s” is not a whole number of points.")
                         % {"balance": balance})
        else:
            if row.balance < 0:
                found.append(_("The balance %(balance)s is negative; an opening balance cannot be.")
                             % {"balance": row.balance})
            elif row.balance > MAX_ADJUSTMENT:
                found.append(_("The balance %(balance)s is above the most allowed, %(max)s.")
                             % {"balance": row.balance, "max": MAX_ADJUSTMENT})
    joined = value("joined")
    if joined:
        row.joined_at = _joined(joined)
        if row.joined_at is None:
            found.append(_("“%(date)s” is not a date; write it as 2024-03-31.") % {"date": joined})
        elif row.joined_at > now:
            found.append(_("The date joined %(date)s is in the future.") % {"date": joined})
    errors.extend((line, message) for message in found)
    return None if found else row


def _in_chunks(values):
    values = list(values)
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def _select_where_in(select, column, values):
    """Rows of `select` whose `column` is one of `values`.

    PostgreSQL takes all the values as one array parameter; Django's `__in` makes a parameter
    of each, which for 100,000 emails costs seconds. Other databases get them in chunks.
    """
    values = list(values)
    if not values:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"{select} WHERE {column} = ANY(%s)", [values])
            yield from cursor.fetchall()
            return
        for chunk in _in_chunks(values):
            cursor.execute(f"{select} WHERE {column} IN ({', '.join(['%s'] * len(chunk))})", chunk)
            yield from cursor.fetchall()


def _existing_people(emails):
    """{lowercased email: (user id, member id or None, member number or None)}."""
    users, members = get_user_model()._meta.db_table, Member._meta.db_table
    return {email: (user_id, member_id, number) for email, user_id, member_id, number in _select_where_in(
        f"SELECT LOWER(u.email), u.id, m.id, m.number FROM {users} u "  # noqa: S608 - names from the models
        f"LEFT JOIN {members} m ON m.user_id = u.id", "LOWER(u.email)", emails)}


def _card_owners(numbers):
    """{member number: the email of its card's person}."""
    users, members = get_user_model()._meta.db_table, Member._meta.db_table
    return dict(_select_where_in(
        f"SELECT m.number, u.email FROM {members} m JOIN {users} u ON u.id = m.user_id",  # noqa: S608
        "m.number", numbers))


def _check_against_database(result, errors):
    """Note rows whose card number belongs to someone else, or whose person has another card."""
    people = result.people = _existing_people(row.email.lower() for row in result.rows)
    result.existing_people = len(people)
    owners = _card_owners(row.member_number for row in result.rows if row.member_number)
    for row in result.rows:
        person = people.get(row.email.lower())
        if row.member_number in owners and owners[row.member_number].lower() != row.email.lower():
            errors.append((row.line, _("The member number %(number)s belongs to another member.")
                           % {"number": row.member_number}))
        elif person and person[2] and row.member_number and person[2] != row.member_number:
            errors.append((row.line, _("%(email)s already has the card %(number)s.")
                           % {"email": row.email, "number": person[2]}))


def check_customer_file(data, *, program, now=None):
    """Read a CSV file of customers for `program` and check every line. Writes nothing.

    Returns a CustomerFile with the rows, every error found (wrong encoding, missing or unknown
    columns, bad or repeated emails, bad numbers, negative balances, unknown languages, …), and
    the earlier import of the same file into this program, if any.
    """
    now = now or timezone.now()
    result = CustomerFile(sha256=hashlib.sha256(data).hexdigest())
    result.imported = CustomerImport.objects.filter(program=program, sha256=result.sha256).first()
    errors = result.errors
    text = _decode(data, errors)
    if text is None:
        return result
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        errors.append((0, _("The file is empty.")))
        return result
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(lines[0]))
    try:
        header = next(reader)
        columns = _columns(header, errors)
        if "email" not in columns:
            return result
        languages = {code for code, _name in settings.LANGUAGES}
        first_line = {}
        numbers = {}
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(result.rows) + len(errors) >= MAX_ROWS:
                errors.append((line, _("A file may hold at most %(max)s customers; split it.")
                               % {"max": MAX_ROWS}))
                break
            if len(values) != len(header):
                errors.append((line, _("This line has %(found)s fields; the header has %(expected)s.")
                               % {"found": len(values), "expected": len(header)}))
                continue
            row = _read_row(line, values, columns, languages, now, errors)
            if row is None:
                continue
            key = row.email.lower()
            if key in first_line:
                errors.append((line, _("%(email)s is also on line %(line)s.")
                               % {"email": row.email, "line": first_line[key]}))
                continue
            first_line[key] = line
            if row.member_number in numbers:
                errors.append((line, _("The member number %(number)s is also on line %(line)s.")
                               % {"number": row.member_number, "line": numbers[row.member_number]}))
                continue
            if row.member_number:
                numbers[row.member_number] = line
            result.rows.append(row)
    except csv.Error as error:
        errors.append((reader.line_num, _("The file is not valid CSV here: %(error)s") % {"error": error}))
    if not result.rows and not errors:
        errors.append((0, _("The file has a header but no customers.")))
    _check_against_database(result, errors)
    errors.sort(key=lambda error: error[0])
    return result


class ImportRefused(ValidationError):
    """The file cannot be imported (errors, or imported before); nothing was written."""


def _free_member_numbers(count, taken):
    """`count` new random member numbers, none of them in `taken` or already on a card."""
    numbers = set()
    while len(numbers) < count:
        candidates = {new_member_number() for _ in range(count - len(numbers))} - taken - numbers
        numbers |= candidates - set(_card_owners(candidates))
    return list(numbers)


STAGING = "programs_import_staging"


class Param:
    """A value for `_insert_select`, sent as a query parameter."""

    def __init__(self, value):
        self.value = value


def _insert_select(model, given, source, params=()):
    """INSERT INTO the model's table SELECT `given` {column: SQL expression or Param} FROM
    `source` (with `params`), every other column set to its field's default, so that a field
    another app adds later needs no change here."""
    columns, expressions, values = [], [], []
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key:
            continue
        columns.append(connection.ops.quote_name(model_field.column))
        expression = given.get(model_field.column)
        if isinstance(expression, str):
            expressions.append(expression)
            continue
        value = expression.value if expression is not None else model_field.get_default()
        expressions.append("%s")
        values.append(model_field.get_db_prep_save(value, connection))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "  # noqa: S608 - names from the models
            f"SELECT {', '.join(expressions)} FROM {source}", [*values, *params])
        return cursor.rowcount


def _stage(rows):
    """A temporary table of the rows to write: COPY on PostgreSQL, a plain insert elsewhere."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGING}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {STAGING} (line integer, email_key varchar(254), "
            "email varchar(254), name varchar(150), phone varchar(32), language varchar(10), "
            "joined timestamp with time zone, number varchar(12), balance bigint, password varchar(128), "
            "user_id bigint, member_id bigint, new_card boolean)")
        columns = ("line, email_key, email, name, phone, language, joined, number, balance, password, "
                   "user_id, member_id")
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {STAGING} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(f"INSERT INTO {STAGING} ({columns}) VALUES ({', '.join(['%s'] * 12)})",  # noqa: S608
                               rows)


def _new_memberships(rows, program, batch, now):
    """Write the people, cards, memberships, lots and entries of rows whose membership of
    `program` is new, set-based: a handful of statements whatever the number of rows. Announces
    each new card with `member_enrolled` and returns how many there are."""
    User = get_user_model()
    table = {"user": User._meta.db_table, "member": Member._meta.db_table,
             "membership": Membership._meta.db_table}
    _stage(rows)
    _insert_select(User, {"email": "email", "name": "name", "phone": "phone", "language": "language",
                          "password": "password", "date_joined": "joined"},
                   f"{STAGING} WHERE user_id IS NULL")
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {STAGING} SET user_id = (SELECT u.id FROM {table['user']} u "  # noqa: S608
                       f"WHERE LOWER(u.email) = {STAGING}.email_key) WHERE user_id IS NULL")
        cursor.execute(f"UPDATE {STAGING} SET new_card = (member_id IS NULL)")  # noqa: S608
    _insert_select(Member, {"user_id": "user_id", "number": "number", "joined_at": "joined"},
                   f"{STAGING} WHERE member_id IS NULL")
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {STAGING} SET member_id = (SELECT m.id FROM {table['member']} m "  # noqa: S608
                       f"WHERE m.user_id = {STAGING}.user_id) WHERE member_id IS NULL")
    # Opening balances do not count as earned: lifetime_earned (and tiers reached by points
    # earned) measure what members earn here, not what another system gave them.
    _insert_select(Membership, {"member_id": "member_id", "program_id": Param(program.pk),
                                "balance": "balance", "joined_at": "joined",
                                "last_activity_at": Param(now)}, STAGING)
    new_memberships = (f"{STAGING} s JOIN {table['membership']} ms ON ms.member_id = s.member_id "
                       "AND ms.program_id = %s")
    _insert_select(PointLot, {"membership_id": "ms.id", "points": "s.balance", "remaining": "s.balance",
                              "is_pending": Param(False), "available_at": Param(now),
                              "expires_at": Param(ledger.lot_expiry(program, now)),
                              "created_at": Param(now)},
                   f"{new_memberships} WHERE s.balance > 0", [program.pk])
    # The new memberships' only lots are the ones just written.
    _insert_select(LedgerEntry, {
        "membership_id": "l.membership_id", "kind": Param(LedgerEntry.Kind.IMPORT.value),
        "points": "l.points", "balance_after": "l.points", "created_at": Param(now),
        "lot_id": "l.id", "cause_key": f"'import:{int(batch.pk)}:row:' || CAST(s.line AS varchar(10))",
        "reason": Param(""), "actor_id": Param(batch.created_by_id),
    }, f"{new_memberships} JOIN {PointLot._meta.db_table} l ON l.membership_id = ms.id", [program.pk])
    new_cards = 0
    carded = RawSQL(f"SELECT user_id FROM {STAGING} WHERE new_card", ())  # noqa: S608, S611
    for member in Member.objects.filter(user_id__in=carded).select_related("user").iterator(chunk_size=2000):
        signals.member_enrolled.send(sender=Member, member=member, store=None, source="import",
                                     referral_code="", request=None)
        new_cards += 1
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {STAGING}")
    return new_cards


def _write(result, program, batch, now):
    """Create the people, cards and memberships that are missing, and credit the balances.
    Returns the number of new cards."""
    people = result.people  # read inside this transaction, a moment ago
    existing = {}
    for chunk in _in_chunks(person[1] for person in people.values() if person[1]):
        # Locked in id order, as lock_memberships does, so a till waits rather than deadlocks.
        existing.update((m.member_id, m) for m in Membership.objects.select_for_update().filter(
            program=program, member_id__in=chunk).select_related("program").order_by("pk"))
    credited, staged = [], []
    cardless = sum(not (people.get(row.email.lower()) or (0, None))[1] and not row.member_number
                   for row in result.rows)
    numbers = iter(_free_member_numbers(cardless, {row.member_number for row in result.rows}))
    for row in result.rows:
        user_id, member_id, _number = people.get(row.email.lower()) or (None, None, None)
        if member_id in existing:
            if row.balance:
                credited.append((existing[member_id], row.balance, f"import:{batch.pk}:row:{row.line}"))
            continue
        staged.append((
            row.line, row.email.lower(), get_user_model().objects.normalize_email(row.email), row.name,
            row.phone, row.language or settings.LANGUAGE_CODE, row.joined_at or now,
            row.member_number or (None if member_id else next(numbers)), row.balance,
            # Unusable, as make_password(None) makes it, at a fraction of the cost.
            UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30), user_id, member_id,
        ))
    # People who already have a membership of the program: the ledger's own credit, which pays
    # off what they owe first.
    ledger.credit_many(credited, LedgerEntry.Kind.IMPORT, now=now, counts_as_earned=False,
                       actor=batch.created_by)
    return _new_memberships(staged, program, batch, now) if staged else 0


def import_customers(*, data, program, actor, file_name="", now=None):
    """Import a CSV file of customers into `program`: all of it in one transaction, or nothing.

    People are found by email (any case) or created without a password (signing up later with
    the same email lets them set one); an existing person's name, phone and language are left
    as they are. Each gets a card (the file's number, or a new one) and a membership, and a
    positive balance becomes an "opening balance" entry caused by this import. Every new card
    is announced with `member_enrolled` (source "import").

    Returns the CustomerImport. Raises ImportRefused, writing nothing, when the file has any
    error, was imported into this program before, or a person or card in it was created by
    someone else meanwhile.
    """
    now = now or timezone.now()
    with transaction.atomic():
        result = check_customer_file(data, program=program, now=now)
        if result.imported:
            raise ImportRefused(_("This file was imported into %(program)s on %(date)s.") % {
                "program": program.name,
                "date": timezone.localtime(result.imported.created_at).strftime("%Y-%m-%d %H:%M")})
        if not result.can_import:
            raise ImportRefused([_("Line %(line)s: %(message)s") % {"line": line, "message": message}
                                 if line else message for line, message in result.errors])
        try:
            with transaction.atomic():
                batch = CustomerImport.objects.create(
                    program=program, file_name=file_name[:200], sha256=result.sha256,
                    rows=len(result.rows), members_created=0, points=result.points,
                    created_by=actor, created_at=now)
                batch.members_created = _write(result, program, batch, now)
                batch.save(update_fields=["members_created"])
        except IntegrityError:
            # The same file imported by someone else this very moment, or one of its people
            # or card numbers created meanwhile: everything of this import is rolled back.
            raise ImportRefused(_("Someone changed the same customers while this file was being "
                                  "imported; nothing was imported. Check the file again.")) from None
        log_staff_action(actor=actor, action="programs.customers.imported",
                         data={"import": batch.pk, "program": program.slug, "file": file_name,
                               "rows": batch.rows, "members_created": batch.members_created,
                               "points": batch.points})
    return batch
