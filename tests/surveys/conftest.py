import pytest
from django.utils import timezone

from surveys.models import Survey

# The programs tests' shop (a SEK spend program), store and customer serve here too.
from ..programs.conftest import customer, shop, store  # noqa: F401


@pytest.fixture
def nps_survey(db):
    return Survey.objects.create(name="How likely to recommend", kind=Survey.Kind.NPS,
                                 send_after_purchase=True, delay_hours=24, min_days_between=30)


@pytest.fixture
def invitation(nps_survey, customer):  # noqa: F811
    from surveys.services import invite

    return invite(survey=nps_survey, member=customer, send_after=timezone.now())
