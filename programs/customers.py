"""Customers the till or the web shop enrols by email, before they ever sign in, and the
closing of a member's card when they close their account."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import signals
from .models import Member, Redemption
from .points import cancel_redemption
from .subscriptions import end_for_closed_account


def _enrol(user, store, source, referral_code):
    # Imported here: programs.services re-exports this module, and enrol_member lives there.
    from .services import enrol_member

    return enrol_member(user=user, store=store, source=source, referral_code=referral_code)


@transaction.atomic
def find_or_enrol_customer(*, email, store=None, name="", phone="", language=None, source="api",
                           referral_code=""):
    """Find the person with this email (any case) or create them, and make sure they have a card.

    Returns (member, created): `created` is True when the member card is new. A person created
    here has no usable password; signing up later with the same email lets them set one. An
    existing person's name, phone and language are left as they are: the till does not overwrite
    what the member has set. `source` and `referral_code` go with the new card's
    `member_enrolled` signal. Raises ValidationError for a bad email or language.
    """
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": _("Enter a valid email address.")}) from None
    languages = {code for code, _name in settings.LANGUAGES}
    if language and language not in languages:
        raise ValidationError({"language": _("Choose one of: %(codes)s.")
                               % {"codes": ", ".join(sorted(languages))}})
    User = get_user_model()
    # The person's row is locked so that two requests enrolling them at once agree on which
    # of them created the card.
    people = User.objects.select_for_update()
    user = people.filter(email__iexact=email).first()
    if user is None:
        extra = {"name": (name or "").strip()[:150], "phone": (phone or "").strip()[:32]}
        if language:
            extra["language"] = language
        try:
            with transaction.atomic():
                user = User.objects.create_user(email=email, password=None, **extra)
        except IntegrityError:
            # The same person, enrolled by a parallel request a moment ago.
            user = people.get(email__iexact=email)
    had_card = Member.objects.filter(user=user).exists()
    member = _enrol(user, store, source, referral_code)
    if had_card and (referral_code or "").strip():
        signals.referral_code_given.send(sender=Member, member=member, store=store, source=source,
                                         referral_code=referral_code.strip())
    return member, not had_card


@transaction.atomic
def close_member(*, member, now=None):
    """Close a member's card because the person closes their account; harmless when closed.

    Their live paid memberships end at once, an online one cancelled at Stripe first
    (subscriptions.end_for_closed_account: raises SubscriptionError, changing nothing, when
    Stripe cannot be reached).

    Their codes that could still be used at the till are cancelled through cancel_redemption,
    so their points go back to the lots they came from and the rewards back in stock: a code
    of a closed account must not be accepted, and cancelling is the one way a code ends without
    being used that keeps the ledger whole. The card's number stays (the ledger, purchases and
    redemptions point at it) but the till, the API and searches no longer find it. Points,
    lots, entries and purchases stay as they are, so every total stays true. Then
    `signals.member_closing` lets the other apps anonymise their rows. Returns the member.
    """
    now = now or timezone.now()
    member = Member.objects.select_for_update().get(pk=member.pk)
    if member.closed_at is not None:
        return member
    end_for_closed_account(member=member, now=now)
    usable = Redemption.objects.filter(membership__member=member, status=Redemption.Status.ISSUED,
                                       expires_at__gte=now).select_related("membership__program")
    for redemption in usable.order_by("pk"):
        cancel_redemption(redemption=redemption, now=now)
    member.closed_at = now
    member.save(update_fields=["closed_at"])
    signals.member_closing.send(sender=Member, member=member, now=now)
    return member
