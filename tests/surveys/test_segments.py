"""Segments by the latest NPS answer, on whatever scale it was given."""

from datetime import timedelta

import pytest
from django.utils import timezone

from programs.models import Segment
from programs.segments import segment_members
from surveys import services
from surveys.models import Survey

from ..factories import MemberFactory

pytestmark = pytest.mark.django_db


def answer(survey, member, value, when):
    invitation = services.invite(survey=survey, member=member, now=when)
    services.submit_answers(invitation=invitation, values={"recommend": value}, notify_staff=False,
                            now=when)


def test_members_by_the_band_of_their_latest_nps_answer():
    on_ten = Survey.objects.create(name="NPS 0-10", kind=Survey.Kind.NPS, min_days_between=0)
    on_five = Survey.objects.create(name="NPS 1-5", kind=Survey.Kind.NPS, nps_scale="1-5",
                                    min_days_between=0)
    people = {name: MemberFactory(user__name=name) for name in ("Ada", "Bo", "Cy", "Di", "Ed")}
    earlier, later = timezone.now() - timedelta(days=60), timezone.now() - timedelta(days=1)
    answer(on_ten, people["Ada"], 10, later)                # promoter
    answer(on_ten, people["Bo"], 6, later)                  # detractor: 6 is the top of the band
    answer(on_five, people["Cy"], 5, later)                 # promoter on 1-5
    answer(on_ten, people["Di"], 2, earlier)                # detractor once …
    answer(on_five, people["Di"], 4, later)                 # … a passive now
    # Ed never answered.

    def band(value):
        return sorted(m.user.name for m in segment_members(Segment(name="x", survey_band=value))
                      .select_related("user"))

    assert band("promoter") == ["Ada", "Cy"]
    assert band("passive") == ["Di"]
    assert band("detractor") == ["Bo"]
