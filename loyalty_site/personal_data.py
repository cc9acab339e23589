"""Everything Patron holds about a person, for them to download (their right of access).

One collection, `personal_data(user)`, becomes both downloads: a JSON document of sections, and
a zip with one CSV file per section (a spreadsheet opens a file, not a nested document). The
site's own sections (account, email preferences, consents, emails sent) come first; the member
card's come from programs.personal_data, which asks the other apps through
`programs.signals.collect_member_data`. Reads only.
"""

import io
import json
import zipfile

from django.utils import timezone

from programs.business import shop_name
from programs.exports import csv_lines
from programs.personal_data import iso, member_data
from programs.selectors import member_for_user

from .models import OPTIONAL_EMAIL_CATEGORIES, Consent, OutboxEmail


def _account(user):
    return [{
        "email": user.email, "name": user.name, "phone": user.phone, "language": user.language,
        "date_joined": iso(user.date_joined), "last_login": iso(user.last_login),
    }]


def _email_preferences(user):
    return [{"category": str(category), "wanted": user.wants_email(category)}
            for category in OPTIONAL_EMAIL_CATEGORIES]


def _consents(user):
    return [{
        "kind": c.kind, "wording": c.wording, "language": c.language, "source": c.source,
        "given_at": iso(c.given_at), "withdrawn_at": iso(c.withdrawn_at),
    } for c in Consent.objects.filter(user=user).order_by("given_at", "pk")]


def _emails_sent(user):
    emails = OutboxEmail.objects.filter(user=user).order_by("created_at", "pk").values_list(
        "created_at", "sent_at", "status", "kind", "category", "to_email", "subject", "body_text")
    return [{
        "created_at": iso(created), "sent_at": iso(sent), "status": status, "kind": kind,
        "category": category, "to": to, "subject": subject, "text": text,
    } for created, sent, status, kind, category, to, subject, text in emails]


def personal_data(user):
    """{section: rows} about this person, each row a dict of plain JSON values."""
    sections = {
        "account": _account(user),
        "email_preferences": _email_preferences(user),
        "consents": _consents(user),
        "emails_sent": _emails_sent(user),
    }
    member = member_for_user(user)
    if member is not None:
        sections.update(member_data(member))
    return sections


def as_json(sections, *, now=None):
    """The JSON download: who made it, when, and the sections."""
    document = {
        "shop": shop_name(),
        "generated_at": iso(now or timezone.now()),
        "sections": sections,
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def as_csv_zip(sections):
    """The CSV download: a zip holding `<section>.csv` for each section, a header row each.

    A section's columns are the keys of its rows in the order first seen; a section without
    rows is a file with no header, so that the person sees it was looked at.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, rows in sections.items():
            columns = list(dict.fromkeys(key for row in rows for key in row))
            lines = csv_lines(columns, ([row.get(c, "") for c in columns] for row in rows)) if rows else []
            archive.writestr(f"{name}.csv", "".join(lines))
    return buffer.getvalue()
