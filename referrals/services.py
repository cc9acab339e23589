"""Writes of referrals: codes, attribution, qualification, review, payout. Each is one transaction.

A bad code never blocks the sign-up or the purchase it came with: it is recorded as a
ReferralIncident with its reason, and the caller gets a message to show (docs/referrals.md).
"""

import hashlib
import logging
import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loyalty_site.services import log_staff_action
from programs.models import Membership
from programs.points import CODE_ALPHABET, normalise_code
from programs.ratelimit import RateLimit
from programs.services import PointsError, grant_points, grant_reward

from . import rules, selectors, signals
from .models import (
    Reason,
    Referral,
    ReferralCode,
    ReferralIncident,
    ReferralProgramSettings,
    Source,
)

logger = logging.getLogger(__name__)

# Unknown or malformed codes per visitor's IP address, cashier or store: a person has no reason
# to get ten codes wrong in ten minutes, and guessing the 2^40 codes stays hopeless.
REFERRAL_CODE_LOOKUPS = RateLimit("referral-code", limit=10, window=600)

CODE_LENGTH = 8  # 8 characters × 5 bits = 40 random bits; codes are public, the rules protect


def new_code():
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def read_code(text):
    """The code as stored, from what a person typed (any case, dashes, O for 0); "" when it
    cannot be a referral code."""
    code = normalise_code(text)
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return ""
    return code


@transaction.atomic
def referral_code_for(member):
    """The member's referral code, made on first use. Harmless to call again."""
    existing = ReferralCode.objects.filter(member=member).first()
    if existing is not None:
        return existing
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return ReferralCode.objects.create(member=member, code=new_code())
        except IntegrityError:
            # The member's code made by a parallel request, or (1 in 2^40) a code taken.
            existing = ReferralCode.objects.filter(member=member).first()
            if existing is not None:
                return existing
    raise RuntimeError("Could not find a free referral code in five tries.")


@transaction.atomic
def set_leaderboard(*, member, show):
    """Opt the member in or out of the referral leaderboard."""
    code = referral_code_for(member)
    ReferralCode.objects.filter(pk=code.pk).update(on_leaderboard=bool(show))


@transaction.atomic
def forget_member(*, member):
    """A member closes their account: off the leaderboard, and no device hash of their
    sign-up kept. The referrals stay, as counts and causes of points already in the ledger;
    their code stops working (find_referrer)."""
    ReferralCode.objects.filter(member=member).update(on_leaderboard=False)
    Referral.objects.filter(friend=member).exclude(device="").update(device="")


def device_of(request):
    """A hash of the visitor's IP address and browser: enough to see many sign-ups from one
    device, without keeping the address."""
    if request is None:
        return ""
    seen = "|".join([request.META.get("REMOTE_ADDR", ""), request.META.get("HTTP_USER_AGENT", "")])
    return hashlib.sha256(seen.encode()).hexdigest()


def _lookup_key(*, request, actor, store):
    if request is not None:
        return f"ip:{request.META.get('REMOTE_ADDR', '')}"
    if actor is not None:
        return f"staff:{actor.pk}"
    return f"store:{store.pk if store else '-'}"


def _incident(reason, *, source, code="", referrer=None, friend=None, referral=None,
              outcome=ReferralIncident.Outcome.REFUSED, now=None):
    return ReferralIncident.objects.create(
        outcome=outcome, reason=reason, source=source, code=str(code)[:40], referrer=referrer,
        friend=friend, referral=referral, created_at=now or timezone.now())


def _refused(reason, **kwargs):
    """Record a refusal and return the message the person who gave the code sees."""
    _incident(reason, **kwargs)
    return rules.message_for(reason)


def find_referrer(code, *, lookup_key):
    """(ReferralCode or None, reason) for a typed code; unknown and malformed codes count
    against `lookup_key`'s rate limit."""
    if REFERRAL_CODE_LOOKUPS.is_exceeded(lookup_key):
        return None, Reason.RATE_LIMITED
    stored = read_code(code)
    found = selectors.code_by_text(stored) if stored else None
    if found is not None and found.member.closed_at is not None:
        found = None  # the member closed their account
    if found is None:
        REFERRAL_CODE_LOOKUPS.hit(lookup_key)
        return None, Reason.MALFORMED if not stored else Reason.UNKNOWN
    return found, ""


@transaction.atomic
def attribute(*, friend, code, source, request=None, actor=None, store=None, purchase=None,
              now=None):
    """Record that `friend` was brought by the member whose referral code this is.

    Returns the message to show the person who gave the code. Never raises for a bad code: a
    refusal is recorded with its reason code instead, and the sign-up or purchase goes on.
    The first valid attribution wins; a later one is refused as `already_referred`. A friend
    is referred in every program whose referral settings are active.
    """
    now = now or timezone.now()
    given = str(code or "").strip()
    if not given:
        return ""
    refusal = {"source": source, "code": given, "friend": friend, "now": now}
    found, reason = find_referrer(given, lookup_key=_lookup_key(request=request, actor=actor, store=store))
    if found is None:
        return _refused(reason, **refusal)
    referrer = found.member
    refusal["referrer"] = referrer
    reason = rules.refusal_reason(referrer=referrer, friend=friend, purchase=purchase)
    if reason:
        return _refused(reason, **refusal)
    programs = list(ReferralProgramSettings.objects.filter(is_active=True, program__is_active=True)
                    .select_related("program").order_by("program_id"))
    if not programs:
        return _refused(Reason.NO_PROGRAM, **refusal)
    device = device_of(request)
    made, skipped = [], ""
    for settings in programs:
        qualify_until = friend.joined_at + timedelta(days=settings.qualify_within_days)
        if Referral.objects.filter(friend=friend, program=settings.program).exists():
            skipped = Reason.ALREADY_REFERRED
        elif friend.user.date_joined < now - timedelta(days=settings.qualify_within_days):
            # A person who had an account long before the code: a customer already.
            skipped = Reason.KNOWN_CUSTOMER
        else:
            skipped = ""
        if skipped:
            _incident(skipped, **refusal)
            continue
        referral = Referral.objects.create(
            program=settings.program, referrer=referrer, friend=friend, source=source,
            device=device, created_at=now, qualify_until=qualify_until)
        flag = rules.flag_reason(referral, settings, now=now)
        if flag:
            referral.status = Referral.Status.FLAGGED
            referral.reason = flag
            referral.review_until = now + timedelta(days=settings.decision_days)
            referral.save(update_fields=["status", "reason", "review_until"])
            _incident(flag, outcome=ReferralIncident.Outcome.FLAGGED, referral=referral, **refusal)
        made.append(referral)
    if not made:
        return rules.message_for(skipped)
    if source in (Source.LINK, Source.SIGNUP):
        # The newcomer reads this right after signing up: spoken to them, not about them.
        return _("Referral code accepted: %(name)s invited you.") % {"name": rules.short_name(referrer)}
    return _("Referral code accepted: %(name)s brought this customer.") % {
        "name": rules.short_name(referrer)}


def _month_start(now):
    local = timezone.localtime(now)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _cap_reason(referral, settings, now):
    """The cap the referrer has reached, or "". Called with the referrer's code row locked, so
    that parallel qualifying purchases count one after the other."""
    counted = (Referral.objects.filter(referrer=referral.referrer_id, program=referral.program_id,
                                       qualified_at__isnull=False)
               .exclude(status=Referral.Status.REFUSED).exclude(pk=referral.pk))
    if settings.cap_total is not None and counted.count() >= settings.cap_total:
        return Reason.CAP_TOTAL
    if settings.cap_per_month is not None and counted.filter(
            qualified_at__gte=_month_start(now)).count() >= settings.cap_per_month:
        return Reason.CAP_MONTH
    return ""


def _refuse(referral, reason, now, *, source=""):
    referral.status = Referral.Status.REFUSED
    referral.reason = reason
    referral.refused_at = now
    referral.save(update_fields=["status", "reason", "refused_at"])
    _incident(reason, source=source or referral.source, referrer=referral.referrer,
              friend=referral.friend, referral=referral, now=now)


# Inside the purchase's transaction on every purchase: a savepoint would cost two more round trips.
@transaction.atomic(savepoint=False)
def qualify(*, purchase, now=None):
    """Qualify the buyer's open referrals with this purchase where it meets their program's
    minimum within its window. The review period starts; the payout task pays after it.

    Returns messages for the till. The referrer's code row is locked while their caps are
    counted, so parallel qualifying purchases by several friends never exceed a cap.
    """
    now = now or timezone.now()
    messages = []
    open_referrals = (Referral.objects.filter(
        friend=purchase.member_id, purchase__isnull=True,
        status__in=[Referral.Status.JOINED, Referral.Status.FLAGGED])
        .select_related("program__referral_settings").order_by("pk"))
    for referral in open_referrals:
        settings = referral.program.referral_settings
        if purchase.amount < settings.minimum_amount or purchase.occurred_at > referral.qualify_until:
            continue
        ReferralCode.objects.select_for_update().get(member=referral.referrer_id)
        referral = Referral.objects.select_for_update().get(pk=referral.pk)
        if referral.purchase_id or referral.status not in (Referral.Status.JOINED, Referral.Status.FLAGGED):
            continue
        reason = _cap_reason(referral, settings, now)
        if reason:
            _refuse(referral, reason, now)
            messages.append(rules.message_for(reason))
            continue
        referral.purchase = purchase
        referral.qualified_at = now
        referral.pay_after = now + timedelta(days=settings.review_days)
        fields = ["purchase", "qualified_at", "pay_after"]
        if referral.status == Referral.Status.JOINED:
            referral.status = Referral.Status.QUALIFIED
            fields.append("status")
        referral.save(update_fields=fields)
        if referral.status == Referral.Status.QUALIFIED:
            signals.referral_qualified.send(sender=Referral, referral=referral)
        messages.append(_("The referral by %(name)s qualifies with this purchase.")
                        % {"name": rules.short_name(referral.referrer)})
    return messages


@transaction.atomic
def cancel_for_refund(*, refund, now=None):
    """A refund of a qualifying purchase inside the review period cancels the referral's
    rewards. After the payout a refund changes nothing here: the review period is for that."""
    now = now or timezone.now()
    for referral in Referral.objects.select_for_update().filter(
            purchase=refund.purchase_id, pay_after__gt=now,
            status__in=[Referral.Status.QUALIFIED, Referral.Status.FLAGGED]):
        _refuse(referral, Reason.REFUNDED, now)


@transaction.atomic
def decide(*, referral, approve, actor=None, now=None):
    """Approve or reject a flagged referral. Without `actor`, the review deadline passed and
    the program's default outcome is being applied. Harmless on a referral no longer flagged.
    """
    now = now or timezone.now()
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    if referral.status != Referral.Status.FLAGGED:
        return referral
    referral.decided_by = actor
    referral.decided_at = now
    if approve:
        referral.status = Referral.Status.QUALIFIED if referral.purchase_id else Referral.Status.JOINED
        referral.save(update_fields=["status", "decided_by", "decided_at"])
        if referral.status == Referral.Status.QUALIFIED:
            signals.referral_qualified.send(sender=Referral, referral=referral)
    else:
        referral.save(update_fields=["decided_by", "decided_at"])
        _refuse(referral, Reason.REJECTED if actor else Reason.REVIEW_DEADLINE, now)
    if actor is not None:
        log_staff_action(actor=actor, action="referrals.referral.approved" if approve
                         else "referrals.referral.rejected",
                         data={"referral": referral.pk, "referrer": referral.referrer.number,
                               "friend": referral.friend.number})
    return referral


# The reasons stay on the ledger entries, where the member reads them in their points history.
REFERRER_REASON = gettext_lazy("Referral: %(name)s joined")
FRIEND_REASON = gettext_lazy("Welcome: referred by %(name)s")
MILESTONE_REASON = gettext_lazy("Referral milestone: %(count)s friends")


def _reason(member, reason, **values):
    # The payout runs in the worker, in the shop's language; the member reads it in theirs.
    with translation.override(member.user.language):
        return str(reason) % values


def _grant(member, program, points, reward, cause_key, reason, now):
    if reward is not None:
        grant_reward(member=member, reward=reward, cause_key=cause_key, now=now)
    elif points:
        grant_points(member=member, program=program, points=points, cause_key=cause_key,
                     reason=reason, now=now)


@transaction.atomic
def pay_referral(*, referral, now=None):
    """Pay a qualified referral whose review period has passed: points or a reward to each side
    the program rewards, and the milestone bonus on every Nth friend. Each grant's cause_key
    names the referral, so a second run pays nothing twice. Raises PointsError when a reward is
    out of stock or out of its dates; nothing is written then, and the next run tries again.
    """
    now = now or timezone.now()
    # Locks in the order a qualifying purchase takes them (the friend's points, then the
    # referrer's code row, then the referral), so the two never wait for each other in a circle.
    list(Membership.objects.select_for_update().filter(member=referral.friend_id,
                                                       program=referral.program_id))
    ReferralCode.objects.select_for_update().get(member=referral.referrer_id)
    referral = (Referral.objects.select_for_update(of=("self",))
                .select_related("program__referral_settings", "referrer__user", "friend__user")
                .get(pk=referral.pk))
    if referral.status != Referral.Status.QUALIFIED or referral.pay_after > now:
        return referral
    settings = referral.program.referral_settings
    program = referral.program
    if settings.rewards_referrer():
        _grant(referral.referrer, program, settings.referrer_points, settings.referrer_reward,
               f"referral:{referral.pk}:referrer",
               _reason(referral.referrer, REFERRER_REASON, name=rules.short_name(referral.friend)), now)
    if settings.rewards_friend():
        _grant(referral.friend, program, settings.friend_points, settings.friend_reward,
               f"referral:{referral.pk}:friend",
               _reason(referral.friend, FRIEND_REASON, name=rules.short_name(referral.referrer)), now)
    referral.status = Referral.Status.REWARDED
    referral.rewarded_at = now
    referral.save(update_fields=["status", "rewarded_at"])
    if settings.milestone_every and settings.milestone_points:
        rewarded = Referral.objects.filter(referrer=referral.referrer_id, program=program,
                                           status=Referral.Status.REWARDED).count()
        if rewarded % settings.milestone_every == 0:
            grant_points(member=referral.referrer, program=program, points=settings.milestone_points,
                         cause_key=f"referral:{referral.pk}:milestone", now=now,
                         reason=_reason(referral.referrer, MILESTONE_REASON, count=rewarded))
    return referral


@transaction.atomic
def _close(referral_id, now):
    referral = Referral.objects.select_for_update().get(pk=referral_id)
    if referral.status == Referral.Status.JOINED and referral.qualify_until < now:
        _refuse(referral, Reason.WINDOW_PASSED, now)


def run_referral_schedule(*, now=None):
    """The periodic work: apply the default outcome to flagged referrals past their review
    deadline, refuse those whose window passed without a qualifying purchase, and pay those
    whose review period is over. Idempotent. Returns counts.
    """
    now = now or timezone.now()
    decided = 0
    for referral in Referral.objects.filter(status=Referral.Status.FLAGGED, review_until__lt=now
                                            ).select_related("program__referral_settings"):
        approve = referral.program.referral_settings.review_default == ReferralProgramSettings.Outcome.APPROVE
        decide(referral=referral, approve=approve, now=now)
        decided += 1
    expired = Referral.objects.filter(status=Referral.Status.JOINED, qualify_until__lt=now)
    closed = 0
    for referral_id in expired.values_list("pk", flat=True):
        _close(referral_id, now)
        closed += 1
    paid = 0
    for referral in Referral.objects.filter(status=Referral.Status.QUALIFIED, pay_after__lte=now
                                            ).order_by("pay_after", "pk"):
        try:
            pay_referral(referral=referral, now=now)
        except PointsError:
            # A reward out of stock or past its dates: the referral stays qualified and the
            # next run tries again once staff have restocked; the log says which.
            logger.warning("Referral %s not paid: its reward is not available.", referral.pk,
                           exc_info=True)
            continue
        paid += 1
    return {"decided": decided, "closed": closed, "paid": paid}


@transaction.atomic
def save_settings(*, form, actor):
    """Save a program's referral settings from the staff form, logged with who changed them."""
    settings = form.save()
    log_staff_action(actor=actor, action="referrals.settings.changed",
                     data={"program": settings.program.slug,
                           "changed": sorted(form.changed_data)})
    return settings


def source_for_signup(request, code):
    """"link" when the code came from a share link's cookie, "signup" when it was typed."""
    remembered = read_code(request.COOKIES.get(rules.COOKIE_NAME, "")) if request is not None else ""
    return Source.LINK if remembered and remembered == read_code(code) else Source.SIGNUP
