"""The loyalty indexes on the staff dashboard (the loyalty_site.dashboard registry).

Each metric reads its answers in ONE query covering the period, the one before and every step
of the trend, then scores each window in Python with surveys.scoring, so the dashboard's page
stays within its query budget. NPS is shown on the 0–10 scale only; other scales are never
mixed in (docs/surveys.md).
"""

from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from loyalty_site.dashboard import Metric, register
from programs.metrics import Figure, trend

from . import scoring, selectors


def _reader(kind):
    def compute(period):
        windows = [period, period.previous(), *period.buckets()]
        answers = period.narrow(selectors.confirmed_answers(
            kind=kind, period_start=min(w.since for w in windows),
            period_end=max(w.until for w in windows), store=period.store), "invitation__member")
        rows = list(answers.order_by().values_list(
            "invitation__confirmed_at", "invitation_id", "question", "value"))

        def figure(window):
            picked = [row[1:] for row in rows if window.since <= row[0] < window.until]
            result = scoring.score(kind, selectors.group_responses(picked))
            value = None if result.value is None else Decimal(str(result.value))
            return Figure(value, result.n)

        return trend(figure, period)

    compute.__name__ = f"{kind}_metric"
    return compute


def register_survey_metrics():
    section, unit = Metric.Section.SATISFACTION, Metric.Unit
    answers = _("answers")
    minimum = settings.SURVEY_MIN_SAMPLE
    for item in [
        Metric("nps", section, _("Net Promoter Score"),
               _("% promoters (9–10) − % detractors (0–6) among answers on the 0–10 scale, "
                 "−100 to 100."),
               _reader(scoring.NPS), unit.SCORE, answers, minimum_sample=minimum),
        Metric("csat", section, _("Customer satisfaction (CSAT)"),
               _("Answers of 4 or 5 on 1–5 ÷ all answers, in per cent."),
               _reader(scoring.CSAT), unit.PERCENT, answers, minimum_sample=minimum),
        Metric("ces", section, _("Customer effort (CES)"),
               _("The mean answer on 1–7, where 7 is “very easy”."),
               _reader(scoring.CES), unit.SCORE, answers, minimum_sample=minimum),
        Metric("how_was_today", section, _("“How was today?”"),
               _("The two happy faces ÷ all answers, in per cent."),
               _reader(scoring.FACES), unit.PERCENT, answers, minimum_sample=minimum),
        Metric("cli", section, _("Customer Loyalty Index"),
               _("Three questions answered 1–6 score 100, 80, 60, 40, 20, 0; a customer's index "
                 "is the mean of their three, the CLI the mean over customers."),
               _reader(scoring.CLI), unit.SCORE, _("customers"), minimum_sample=minimum),
        Metric("secure_customers", section, _("Secure customers"),
               _("Customers answering the top box to all three questions (satisfied, would buy "
                 "again, would recommend) ÷ customers who answered all three, in per cent."),
               _reader(scoring.SECURE), unit.PERCENT, _("customers"), minimum_sample=minimum),
    ]:
        register(item)
