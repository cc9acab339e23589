"""Treats: welcome points for a new member, and a birthday gift in the member's birthday month.

Both are paid through grant_points / grant_reward with a cause key ("signup",
"birthday:2026"), so each is given once whatever runs twice.
"""

from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loyalty_site.models import EmailCategory
from loyalty_site.services import absolute_url, queue_email

from . import signals
from .models import Member, Program
from .points import PointsError, grant_points, grant_reward

OLDEST_AGE = 120
WELCOME_REASON = gettext_lazy("Welcome to the program")
BIRTHDAY_REASON = gettext_lazy("Happy birthday")


@receiver(signals.member_enrolled, dispatch_uid="programs.welcome_points")
def give_welcome_points(sender, member, source, **kwargs):
    """A new member gets each active program's welcome points; customers brought in by an
    import were customers before, so they get none."""
    if source == "import":
        return
    for program in Program.objects.filter(is_active=True, signup_points__gt=0):
        grant_points(member=member, program=program, points=program.signup_points,
                     cause_key="signup", reason=str(WELCOME_REASON))


@transaction.atomic
def set_birthday(*, member, birthday, now=None):
    """The member gives their birthday, once. Raises ValidationError for a date in the future
    or too long ago, or when it is set already (the shop can correct a mistake)."""
    now = now or timezone.now()
    member = Member.objects.select_for_update().get(pk=member.pk)
    if member.birthday is not None:
        raise ValidationError({"birthday": _(
            "Your birthday is already saved. Ask the shop if it needs correcting.")})
    today = timezone.localdate(now)
    if not isinstance(birthday, date) or birthday > today or today.year - birthday.year > OLDEST_AGE:
        raise ValidationError({"birthday": _("Enter your real date of birth.")})
    member.birthday, member.birthday_set_at = birthday, now
    member.save(update_fields=["birthday", "birthday_set_at"])
    return member


def _month_start(today):
    return timezone.make_aware(datetime.combine(today.replace(day=1), time.min))


def give_birthday_treats(*, now=None):
    """Give every member whose birthday month it is their programs' birthday points and gift,
    once a year, and wish them a happy birthday by email (reminders category).

    A birthday set during its own month waits for next year. Each member is one transaction;
    running this daily, or twice, gives nothing more. Returns the number of members treated.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    programs = list(Program.objects.filter(is_active=True).filter(
        Q(birthday_points__gt=0) | Q(birthday_reward__isnull=False)).select_related("birthday_reward"))
    if not programs:
        return 0
    due = (Member.objects.filter(closed_at__isnull=True, birthday__month=today.month,
                                 birthday_set_at__lt=_month_start(today))
           .select_related("user").order_by("pk"))
    treated = 0
    for member in due.iterator(chunk_size=500):
        treated += _treat(member, programs, today.year)
    return treated


@transaction.atomic
def _treat(member, programs, year):
    cause = f"birthday:{year}"
    points, gifts, new = 0, [], False
    for program in programs:
        if program.birthday_points:
            _entry, created = grant_points(member=member, program=program, cause_key=cause,
                                           points=program.birthday_points, reason=str(BIRTHDAY_REASON))
            new |= created
            points += program.birthday_points
        if program.birthday_reward_id:
            try:
                redemption, created = grant_reward(member=member, reward=program.birthday_reward,
                                                   cause_key=cause)
            except PointsError:
                continue  # out of stock or past its dates: the points still come
            new |= created
            gifts.append(redemption)
    if new:
        user = member.user
        queue_email(to=user.email, template="birthday", category=EmailCategory.REMINDERS, user=user,
                    dedupe_key=f"birthday:{member.pk}:{year}",
                    context={"member": member, "points": points, "gifts": gifts,
                             "portal_url": absolute_url(reverse("portal:codes"))})
    return int(new)
