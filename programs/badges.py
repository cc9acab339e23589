"""Badges and visit streaks: small recognitions shown in the member portal.

Badges are worked out from what is recorded (purchases, and what other apps register), never
stored, so they cannot drift from the facts. Apps that know of other deeds (a friend referred,
a survey answered) register a badge with `register_badge` from their AppConfig.ready(); the
core never imports them.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models.functions import TruncWeek
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Purchase

# A streak counts weeks (Monday to Sunday, in the shop's time zone) with at least one purchase,
# up to this many back.
STREAK_WEEKS_LOOKED_AT = 52


@dataclass(frozen=True)
class Badge:
    code: str
    title: str
    description: str
    earned: object  # callable(member, facts) -> bool


_BADGES = []


def register_badge(code, title, description, earned):
    """Add a badge; `earned(member, facts)` says whether the member has it (`facts` holds the
    member's visits and streak, worked out once). Registering a code twice keeps the first."""
    if all(badge.code != code for badge in _BADGES):
        _BADGES.append(Badge(code, title, description, earned))


def visit_facts(member, now=None):
    """The member's visits in all, and their current streak of weeks with a visit (one that
    ended last week still counts: this week may not be over)."""
    now = now or timezone.now()
    visits = Purchase.objects.filter(member=member).count()
    since = now - timedelta(weeks=STREAK_WEEKS_LOOKED_AT)
    weeks = {timezone.localdate(week) for week in (
        Purchase.objects.filter(member=member, occurred_at__gte=since).order_by()
        .annotate(week=TruncWeek("occurred_at")).values_list("week", flat=True).distinct())}
    this_week = timezone.localdate(now) - timedelta(days=timezone.localdate(now).weekday())
    week = this_week if this_week in weeks else this_week - timedelta(weeks=1)
    streak = 0
    while week in weeks:
        streak += 1
        week -= timedelta(weeks=1)
    return {"visits": visits, "streak": streak}


def member_badges(member, now=None):
    """Every badge, each with whether the member has it, and the facts (visits, streak)."""
    facts = visit_facts(member, now)
    return [(badge, bool(badge.earned(member, facts))) for badge in _BADGES], facts


register_badge("first-visit", _("First purchase"), _("Your first purchase as a member."),
               lambda member, facts: facts["visits"] >= 1)
register_badge("tenth-visit", _("Regular"), _("Ten purchases as a member."),
               lambda member, facts: facts["visits"] >= 10)
register_badge("streak-4", _("Four weeks running"), _("A purchase every week for four weeks."),
               lambda member, facts: facts["streak"] >= 4)
