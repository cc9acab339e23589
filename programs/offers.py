"""One-off offers to a segment ("double points on your next visit") and we-miss-you emails.

An offer's grants are written when staff send it: the segment's members at that moment. A
grant counts like a campaign that covers the whole basket, for that member only: the largest
multiplier among campaigns and offers wins each part (docs/campaigns.md). It is used by the
first purchase in its program that it raises, on or before its last day; a purchase a bigger
campaign already covers leaves it for the next visit. A refund later takes the points back in
proportion, as always, but does not give the offer back.
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_site.models import EmailCategory
from loyalty_site.services import absolute_url, enqueue_on_commit, log_staff_action, queue_email

from .models import Member, Membership, Offer, OfferGrant, Program
from .segments import segment_members
from .selectors import available_rewards

# A we-miss-you email goes to members whose last purchase is at most this much older than the
# program's absence: people who stopped coming lately, not everyone who ever bought once.
WINBACK_REACH = timedelta(days=30)
SUGGESTED_REWARDS = 3
# How long a sent offer's own email task has before the sweep does its work.
OFFER_EMAIL_GRACE = timedelta(minutes=10)


def usable_grants(member, program, when):
    """The member's unused offers in `program` valid on `when`'s day, with their offers."""
    day = timezone.localdate(when)
    return list(OfferGrant.objects.filter(
        member=member, used_at__isnull=True, offer__program=program, offer__valid_until__gte=day,
        offer__sent_at__lte=when,
    ).select_related("offer"))


def open_offers(member, now=None):
    """The member's offers they can still use, soonest to end first (for the portal)."""
    now = now or timezone.now()
    return list(OfferGrant.objects.filter(
        member=member, used_at__isnull=True, offer__valid_until__gte=timezone.localdate(now),
        offer__sent_at__lte=now, offer__program__is_active=True,
    ).select_related("offer__program").order_by("offer__valid_until", "pk"))


def use_grants(grants, parts, purchase, now):
    """Mark used the grants whose offer raised a part of this purchase."""
    used = {part.campaign.pk for part in parts if isinstance(part.campaign, Offer)}
    chosen = [grant.pk for grant in grants if grant.offer_id in used]
    if chosen:
        OfferGrant.objects.filter(pk__in=chosen, used_at__isnull=True).update(used_at=now, purchase=purchase)


@transaction.atomic
def send_offer(*, offer, actor, now=None):
    """Give the offer to every member of its segment now, and email them (offers category:
    members who do not want offers get the offer but no email). Sending twice is refused.
    Returns the number of members given the offer."""
    now = now or timezone.now()
    offer = Offer.objects.select_for_update().get(pk=offer.pk)
    if offer.sent_at is not None:
        raise ValidationError(_("This offer was sent already."))
    if offer.valid_until < timezone.localdate(now):
        raise ValidationError(_("This offer's last day has passed."))
    member_ids = list(segment_members(offer.segment).values_list("pk", flat=True))
    OfferGrant.objects.bulk_create(
        [OfferGrant(offer=offer, member_id=member_id, granted_at=now) for member_id in member_ids],
        batch_size=1000, ignore_conflicts=True)
    offer.sent_at = now
    offer.save(update_fields=["sent_at"])
    log_staff_action(actor=actor, action="programs.offer.sent",
                     data={"offer": offer.pk, "segment": offer.segment_id, "members": len(member_ids)})
    from .tasks import email_offer  # the tasks module imports this one

    # With the queue down the offer is sent all the same; email_unemailed_offers catches up.
    enqueue_on_commit(email_offer, offer.pk)
    return len(member_ids)


def email_offer(offer_id, *, now=None):
    """Write the offer's emails to the outbox, once per member whatever runs twice, and mark
    the offer emailed."""
    now = now or timezone.now()
    offer = Offer.objects.select_related("program").get(pk=offer_id)
    grants = (OfferGrant.objects.filter(offer=offer, used_at__isnull=True)
              .select_related("member__user").order_by("pk"))
    queued = 0
    for grant in grants.iterator(chunk_size=500):
        user = grant.member.user
        email = queue_email(
            to=user.email, template="offer", category=EmailCategory.OFFERS, user=user,
            dedupe_key=f"offer:{offer.pk}:{grant.member_id}",
            context={"offer": offer, "program": offer.program,
                     "portal_url": absolute_url(reverse("portal:home"))})
        queued += email is not None
    Offer.objects.filter(pk=offer.pk, emailed_at__isnull=True).update(emailed_at=now)
    return queued


def email_unemailed_offers(*, now=None):
    """Email the sent offers whose emails never reached the outbox (the queue was down when
    they were sent, or the worker died). Offers sent in the last minutes are left to the task
    their sending queued. Returns the number of emails queued."""
    now = now or timezone.now()
    return sum(email_offer(offer_id, now=now) for offer_id in Offer.objects.filter(
        sent_at__lt=now - OFFER_EMAIL_GRACE, emailed_at__isnull=True).values_list("pk", flat=True))


def send_winback_reminders(*, now=None):
    """Email members who have not bought for their program's absence (winback_days), once per
    absence: the outbox key holds the day of their last purchase. Offers category. Returns the
    number of emails queued."""
    now = now or timezone.now()
    queued = 0
    for program in Program.objects.filter(is_active=True, winback_days__gt=0):
        absent_since = now - timedelta(days=program.winback_days)
        members = (Member.objects.filter(closed_at__isnull=True, memberships__program=program)
                   .annotate(last_purchase=Max("purchases__occurred_at"))
                   .filter(last_purchase__lt=absent_since,
                           last_purchase__gte=absent_since - WINBACK_REACH)
                   .select_related("user").order_by("pk"))
        for member in members.iterator(chunk_size=500):
            membership = Membership.objects.get(member=member, program=program)
            rewards = list(available_rewards(now=now).filter(
                program=program, cost__lte=membership.available, minimum_tier__isnull=True,
                plans__isnull=True,
            ).exclude(stock=0).order_by("-cost")[:SUGGESTED_REWARDS])
            email = queue_email(
                to=member.user.email, template="winback", category=EmailCategory.OFFERS,
                user=member.user,
                dedupe_key=f"winback:{program.pk}:{member.pk}:{timezone.localdate(member.last_purchase)}",
                context={"program": program, "membership": membership, "rewards": rewards,
                         "days": (now - member.last_purchase).days,
                         "portal_url": absolute_url(reverse("portal:rewards"))})
            queued += email is not None
    return queued
