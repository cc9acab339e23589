"""Closing an account (the right to erasure): the person goes, the shop's totals stay true.

See docs/privacy.md for what is removed, what is kept and why.
"""

import uuid

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from programs.selectors import member_for_user
from programs.services import close_member

from . import webhooks
from .models import OPTIONAL_EMAIL_CATEGORIES, Consent, OutboxEmail, User
from .permissions import is_staff_member
from .services import log_staff_action

# The placeholders' domain: ".invalid" is reserved (RFC 2606), so no email can ever reach it.
CLOSED_DOMAIN = "closed.invalid"


def is_closed(user):
    return user.email.endswith(f"@{CLOSED_DOMAIN}")


@transaction.atomic
def close_account(*, user, now=None):
    """Close the person's account for good; harmless when it is closed already.

    Their card is closed (programs.services.close_member: usable codes cancelled, the number
    no longer found at the till, the other apps told to anonymise their rows) while the ledger,
    lots and purchases stay, so every balance and total still adds up. Then what names the person
    goes: email (a unique placeholder instead), name, phone, password, email addresses, roles
    and preferences; the emails sent to them lose their address and text; their consents stay
    as evidence, withdrawn. Every session of theirs ends, since a session is only valid with the
    password it was opened with. Raises ValidationError for a member of staff, who must first be
    taken off the team (the staff log points at them).
    """
    now = now or timezone.now()
    user = User.objects.select_for_update().get(pk=user.pk)
    if is_closed(user):
        return user
    if is_staff_member(user):
        raise ValidationError(_("A member of staff cannot close their account here. "
                                "Ask a manager to take you off the team first."))
    member = member_for_user(user)
    if member is not None:
        close_member(member=member, now=now)
        webhooks.forget_member(member=member)
    placeholder = f"closed-{uuid.uuid4().hex}@{CLOSED_DOMAIN}"
    emails = OutboxEmail.objects.filter(Q(user=user) | Q(to_email__iexact=user.email))
    # Not yet sent: never sent now. The address is gone and the person asked to be forgotten.
    emails.filter(status__in=[OutboxEmail.Status.PENDING, OutboxEmail.Status.SENDING]).update(
        status=OutboxEmail.Status.FAILED, last_error="The account was closed.")
    emails.update(user=user, to_email=placeholder, subject="", body_text="", body_html="",
                  headers={})
    Consent.objects.filter(user=user, withdrawn_at__isnull=True).update(withdrawn_at=now)
    EmailAddress.objects.filter(user=user).delete()
    user.groups.clear()
    user.user_permissions.clear()
    user.email = placeholder
    user.name = ""
    user.phone = ""
    user.is_active = False
    user.is_staff = user.is_superuser = False
    for category in OPTIONAL_EMAIL_CATEGORIES:
        setattr(user, f"emails_{category}", False)
    # A new password hash makes every session's stored hash stale: Django ends them all.
    user.set_unusable_password()
    user.save()
    log_staff_action(actor=user, action="loyalty_site.account.closed",
                     data={"user": user.pk, "member": member.number if member else None})
    return user
