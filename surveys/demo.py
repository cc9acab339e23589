"""Surveys for the demo shop (`manage.py demo`): three surveys and a few months of answers.

Called once the demo's purchases exist; adds nothing when the demo surveys are there already.
"""

from datetime import timedelta

from django.utils import timezone

from programs.models import Member, Program, Purchase

from . import services
from .models import Survey

COMMENTS = {
    "good": ["Friendly staff and great coffee.", "Always fresh bread!", "Quick and easy, thanks."],
    "bad": ["Had to wait a long time at the till.", "The shelf was empty again.",
            "Card reader did not work."],
}


def _nps_value(rng):
    return rng.choices(range(11), weights=[1, 1, 1, 2, 2, 3, 4, 8, 12, 14, 12])[0]


def build_demo_surveys(rng, *, member_email):
    if Survey.objects.filter(name="After a visit").exists():
        return
    program = Program.objects.filter(slug="points").first()
    nps = Survey.objects.create(
        name="After a visit", kind=Survey.Kind.NPS, send_after_purchase=True, delay_hours=3,
        min_days_between=21, points=10 if program else 0, points_program=program,
    )
    faces = Survey.objects.create(name="How was today?", kind=Survey.Kind.FACES,
                                  min_days_between=21)
    cli = Survey.objects.create(name="Loyalty index", kind=Survey.Kind.CLI, min_days_between=21)
    now = timezone.now()
    recent = (Purchase.objects.filter(occurred_at__gte=now - timedelta(days=120))
              .exclude(member__user__email=member_email)
              .select_related("member", "store").order_by("occurred_at"))
    for purchase in recent:
        when = purchase.occurred_at + timedelta(hours=3)
        survey = rng.choice([nps, nps, nps, faces, cli])
        invitation = services.invite(survey=survey, member=purchase.member, purchase=purchase,
                                     store=purchase.store, send_after=None, now=when)
        if invitation is None or rng.random() < 0.35:
            continue  # throttled, or never answered
        _answer(rng, invitation, when + timedelta(hours=rng.randint(1, 30)))
    # A scanner's burst over two options (discarded) and a click nobody confirmed, shown apart
    # on the results page.
    scanned = now - timedelta(days=1)
    members = Member.objects.exclude(user__email=member_email).order_by("pk")[:2]
    for member, values in zip(members, [(10, 0), (9,)], strict=False):
        invitation = services.invite(survey=nps, member=member, now=scanned)
        if invitation is None:
            continue
        for n, value in enumerate(values):
            services.record_click(invitation=invitation, question="recommend", value=value,
                                  now=scanned + timedelta(seconds=n))
    # The demo member has one waiting on their portal.
    demo_member = Member.objects.filter(user__email=member_email).first()
    if demo_member is not None:
        services.invite(survey=nps, member=demo_member, store=demo_member.joined_store, now=now)


def _answer(rng, invitation, when):
    survey = invitation.survey
    if survey.kind == Survey.Kind.NPS:
        values = {"recommend": _nps_value(rng)}
        happy = values["recommend"] >= 9
        unhappy = values["recommend"] <= 6
    elif survey.kind == Survey.Kind.FACES:
        values = {"today": rng.choices([1, 2, 3, 4], weights=[1, 2, 5, 6])[0]}
        happy, unhappy = values["today"] == 4, values["today"] == 1
    else:
        values = {key: rng.choices(range(1, 7), weights=[6, 5, 3, 2, 1, 1])[0]
                  for key, _text, _scale in survey.questions()}
        happy = unhappy = False
    comment = ""
    if (happy or unhappy) and rng.random() < 0.4:
        comment = rng.choice(COMMENTS["good" if happy else "bad"])
    services.submit_answers(invitation=invitation, values=values, comment=comment,
                            testimonial_consent=happy and rng.random() < 0.5, now=when,
                            notify_staff=False)
