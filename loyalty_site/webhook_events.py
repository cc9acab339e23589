"""What the apps announce, turned into webhook events (their shapes are in docs/webhooks.md).

Each receiver runs inside the transaction of the change it hears about and writes the
deliveries there (loyalty_site.webhooks.publish), so a change that rolls back leaves no event
behind, and one that commits cannot lose its event. A receiver reads what the payload needs
only when an endpoint listens: for everyone else an event costs one query.
"""

from programs import signals as program_signals
from programs.models import Membership
from referrals import signals as referral_signals
from surveys import signals as survey_signals
from surveys.models import Comment

from .webhooks import EventType, publish


def _time(value):
    return value.isoformat() if value is not None else None


def _member(member):
    return {"number": member.number, "email": member.user.email, "name": member.user.name}


def _program(program):
    return {"slug": program.slug, "name": program.name}


def _tier(tier):
    return None if tier is None else {"id": tier.pk, "name": tier.name, "rank": tier.rank}


def _memberships(ids):
    return Membership.objects.select_related("member__user", "program").in_bulk(ids)


# --- Points --------------------------------------------------------------------------------


def _points_data(entries):
    membership = _memberships([entries[0].membership_id])[entries[0].membership_id]
    return [{
        "member": _member(membership.member),
        "program": _program(membership.program),
        "entry": {
            "id": entry.pk, "kind": entry.kind, "points": entry.points,
            "balance_after": entry.balance_after, "reason": entry.reason,
            "created_at": _time(entry.created_at),
        },
        "purchase": ({"external_id": entry.purchase.external_id} if entry.purchase_id else None),
        "redemption": ({"code": entry.redemption.code} if entry.redemption_id else None),
    } for entry in entries]


def points_changed(sender, entry, **kwargs):
    event_type = EventType.POINTS_EARNED if entry.points > 0 else EventType.POINTS_SPENT
    publish(event_type, [entry], _points_data, now=entry.created_at)


# --- Rewards -------------------------------------------------------------------------------


def _redemption_data(redemptions):
    return [{
        "member": _member(redemption.membership.member),
        "program": _program(redemption.membership.program),
        "reward": {"id": redemption.reward.pk, "name": redemption.reward.name,
                   "kind": redemption.reward.kind},
        "redemption": {"id": redemption.pk, "code": redemption.code, "points": redemption.points,
                       "expires_at": _time(redemption.expires_at),
                       "created_at": _time(redemption.created_at)},
    } for redemption in redemptions]


def reward_redeemed(sender, redemption, **kwargs):
    publish(EventType.REWARD_REDEEMED, [redemption], _redemption_data, now=redemption.created_at)


# --- Tiers ---------------------------------------------------------------------------------


def _tier_data(changes):
    memberships = _memberships({change.membership_id for change in changes})
    data = []
    for change in changes:
        membership = memberships[change.membership_id]
        upgraded = change.to_tier is not None and (
            change.from_tier is None or change.to_tier.rank > change.from_tier.rank)
        data.append({
            "member": _member(membership.member),
            "program": _program(membership.program),
            "from_tier": _tier(change.from_tier),
            "to_tier": _tier(change.to_tier),
            "direction": "up" if upgraded else "down",
            "reason": change.reason,
            "changed_at": _time(change.created_at),
        })
    return data


def tier_changed(sender, changes, **kwargs):
    publish(EventType.TIER_CHANGED, changes, _tier_data)


# --- Referrals and surveys -----------------------------------------------------------------


def _referral_data(referrals):
    return [{
        "referral": {"id": referral.pk, "qualified_at": _time(referral.qualified_at),
                     "rewards_after": _time(referral.pay_after)},
        "program": _program(referral.program),
        "referrer": _member(referral.referrer),
        "friend": _member(referral.friend),
        "purchase": {"external_id": referral.purchase.external_id,
                     "amount": str(referral.purchase.amount),
                     "currency": referral.purchase.currency},
    } for referral in referrals]


def referral_qualified(sender, referral, **kwargs):
    publish(EventType.REFERRAL_QUALIFIED, [referral], _referral_data, now=referral.qualified_at)


def _answer_data(answered):
    comments = dict(Comment.objects.filter(invitation__in=[invitation for invitation, _a in answered])
                    .values_list("invitation_id", "text"))
    return [{
        "member": _member(invitation.member),
        "survey": {"id": invitation.survey.pk, "name": invitation.survey.name,
                   "kind": invitation.survey.kind},
        "invitation": {"id": invitation.pk, "answered_at": _time(invitation.confirmed_at)},
        "answers": answers,
        "comment": comments.get(invitation.pk, ""),
    } for invitation, answers in answered]


def survey_answered(sender, invitation, answers, now, **kwargs):
    publish(EventType.SURVEY_ANSWERED, [(invitation, answers)], _answer_data, now=now)


def connect():
    """Listen to every app's announcements; called once from LoyaltySiteConfig.ready."""
    program_signals.points_changed.connect(points_changed, dispatch_uid="webhooks.points")
    program_signals.reward_redeemed.connect(reward_redeemed, dispatch_uid="webhooks.reward")
    program_signals.tier_changed.connect(tier_changed, dispatch_uid="webhooks.tier")
    referral_signals.referral_qualified.connect(referral_qualified, dispatch_uid="webhooks.referral")
    survey_signals.survey_answered.connect(survey_answered, dispatch_uid="webhooks.survey")
