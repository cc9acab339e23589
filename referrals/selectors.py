"""Reads of referrals, scoped to who asks: a member sees their own referrals; figures are for
staff with view_metrics. The dashboard (metrics) may call conversion(), referred_revenue() and
top_referrers() with a period and an optional store (the store where the friend joined)."""

from decimal import Decimal

from django.db.models import Count, Q, Sum

from programs.models import LedgerEntry, Program, Purchase, Redemption, Refund
from programs.personal_data import iso

from .models import Referral, ReferralCode, ReferralIncident, ReferralProgramSettings

DEFAULT_COOKIE_DAYS = 30
# Referrals that count as converted: the friend made the qualifying purchase and it stood.
CONVERTED = Q(qualified_at__isnull=False) & ~Q(status=Referral.Status.REFUSED)


def member_data(member):
    """The member's referral data for their download: their code, the friends they brought
    (by first name and initial) and who brought them. A fixed number of queries."""
    from .rules import short_name

    code = ReferralCode.objects.filter(member=member).first()

    def row(referral, other):
        return {"program": referral.program.name, "person": short_name(other),
                "source": referral.source, "status": referral.status, "reason": referral.reason,
                "referred_at": iso(referral.created_at), "qualified_at": iso(referral.qualified_at),
                "rewarded_at": iso(referral.rewarded_at)}

    both = list(Referral.objects.filter(Q(referrer=member) | Q(friend=member))
                .select_related("referrer__user", "friend__user", "program").order_by("pk"))
    return {
        "referral_code": [{"code": code.display_code, "on_leaderboard": code.on_leaderboard,
                           "created_at": iso(code.created_at)}] if code else [],
        "referrals_made": [row(r, r.friend) for r in both if r.referrer_id == member.pk],
        "referred_by": [row(r, r.referrer) for r in both if r.friend_id == member.pk],
    }


def active_settings():
    return list(ReferralProgramSettings.objects.filter(is_active=True, program__is_active=True)
                .select_related("program").order_by("program_id"))


def programs_with_referrals():
    """The ids of programs with referral settings: without any, no purchase can qualify a
    referral. Kept in the earning configuration's snapshot (programs.config)."""
    return frozenset(ReferralProgramSettings.objects.values_list("program_id", flat=True))


def cookie_days():
    """How long a share link is remembered: the longest window of the running programs."""
    return max((s.cookie_days for s in active_settings()), default=DEFAULT_COOKIE_DAYS)


def code_by_text(code):
    return ReferralCode.objects.filter(code=code).select_related("member__user").first()


def member_referrals(member):
    """The friends the member brought, newest first, with their status and reason."""
    return (Referral.objects.filter(referrer=member)
            .select_related("friend__user", "program").order_by("-created_at", "-pk"))


def member_referral_rewards(member):
    """(points entries, reward codes) the member got for referrals: as referrer, as friend and
    milestone bonuses, found by the ledger's cause_key."""
    entries = (LedgerEntry.objects.filter(membership__member=member, cause_key__startswith="referral:")
               .select_related("membership__program").order_by("-created_at", "-pk"))
    codes = (Redemption.objects.filter(membership__member=member, cause_key__startswith="referral:")
             .select_related("reward").order_by("-created_at", "-pk"))
    return list(entries), list(codes)


def milestone_progress(member, referrals):
    """[{program, every, done, to_go, points}] for each running program with a milestone bonus;
    `referrals` is member_referrals(member), already read."""
    progress = []
    for settings in active_settings():
        if not (settings.milestone_every and settings.milestone_points):
            continue
        done = sum(1 for r in referrals
                   if r.program_id == settings.program_id and r.status == Referral.Status.REWARDED)
        progress.append({"program": settings.program, "every": settings.milestone_every,
                         "done": done % settings.milestone_every,
                         "to_go": settings.milestone_every - done % settings.milestone_every,
                         "points": settings.milestone_points})
    return progress


def _in_period(referrals, period_start, period_end, store):
    referrals = referrals.filter(created_at__gte=period_start, created_at__lt=period_end)
    if store is not None:
        referrals = referrals.filter(friend__joined_store=store)
    return referrals


def conversion(period_start, period_end, store=None):
    """(numerator, denominator): friends referred in [period_start, period_end) who went on to
    qualify, and all friends referred then (refused at sign-up or not). Counted per friend, so
    a friend in two programs counts once. `store` narrows to friends who joined there."""
    referrals = _in_period(Referral.objects.all(), period_start, period_end, store)
    figures = referrals.aggregate(
        denominator=Count("friend", distinct=True),
        numerator=Count("friend", distinct=True, filter=CONVERTED))
    return figures["numerator"], figures["denominator"]


def referred_revenue(period_start, period_end, store=None):
    """Money spent in [period_start, period_end), less its refunds, by customers whose referral
    was not refused. `store` narrows to purchases at that store."""
    friends = Referral.objects.exclude(status=Referral.Status.REFUSED).values("friend")
    purchases = Purchase.objects.filter(member__in=friends, occurred_at__gte=period_start,
                                        occurred_at__lt=period_end)
    if store is not None:
        purchases = purchases.filter(store=store)
    spent = purchases.aggregate(total=Sum("amount"))["total"] or Decimal(0)
    refunded = Refund.objects.filter(purchase__in=purchases).aggregate(
        total=Sum("amount"))["total"] or Decimal(0)
    return spent - refunded


def top_referrers(period_start, period_end, store=None, *, limit=10):
    """[{member, referred, converted}] the members who brought most friends in the period."""
    referrals = _in_period(Referral.objects.all(), period_start, period_end, store)
    rows = list(referrals.values("referrer").annotate(
        referred=Count("friend", distinct=True),
        converted=Count("friend", distinct=True, filter=CONVERTED),
    ).order_by("-converted", "-referred", "referrer")[:limit])
    codes = {c.member_id: c for c in ReferralCode.objects.filter(
        member__in=[r["referrer"] for r in rows]).select_related("member__user")}
    return [{"member": codes[r["referrer"]].member, "code": codes[r["referrer"]],
             "referred": r["referred"], "converted": r["converted"]} for r in rows]


def leaderboard(*, limit=10):
    """[{member, rewarded}] members who opted in, by friends rewarded, most first."""
    return list(ReferralCode.objects.filter(on_leaderboard=True).select_related("member__user")
                .annotate(rewarded=Count("member__referrals_made", distinct=True,
                                         filter=Q(member__referrals_made__status=Referral.Status.REWARDED)))
                .filter(rewarded__gt=0).order_by("-rewarded", "pk")[:limit])


def review_queue():
    """Flagged referrals waiting for staff, the nearest deadline first."""
    return (Referral.objects.filter(status=Referral.Status.FLAGGED)
            .select_related("referrer__user", "friend__user", "program", "purchase")
            .order_by("review_until", "pk"))


def flagged_referral(referral_id):
    return Referral.objects.filter(pk=referral_id, status=Referral.Status.FLAGGED).first()


def recent_referrals(*, limit=50):
    """The newest referrals with their source, for staff."""
    return (Referral.objects.select_related("referrer__user", "friend__user", "program")
            .order_by("-created_at", "-pk")[:limit])


def recent_incidents(*, limit=50):
    return (ReferralIncident.objects.select_related("referrer__user", "friend__user")
            .order_by("-created_at", "-pk")[:limit])


def incidents_by_reason(period_start, period_end):
    """{reason: count} of refusals and flags in the period."""
    return dict(ReferralIncident.objects.filter(created_at__gte=period_start, created_at__lt=period_end)
                .values_list("reason").annotate(n=Count("pk")).order_by())


def programs_with_settings():
    """[(program, settings or None)] for the staff settings list."""
    settings = {s.program_id: s for s in ReferralProgramSettings.objects.all()}
    return [(p, settings.get(p.pk)) for p in Program.objects.order_by("name")]


def program_by_id(program_id):
    return Program.objects.filter(pk=program_id).first()


def settings_for(program):
    return ReferralProgramSettings.objects.filter(program=program).first()


def has_brought_a_friend(member, facts=None):
    """For the "Friend maker" badge: a friend the member referred has qualified."""
    return Referral.objects.filter(
        referrer=member, status__in=[Referral.Status.QUALIFIED, Referral.Status.REWARDED]).exists()
