"""How each kind of survey is scored: pure functions over answers, no database.

A response is one person's answers to one invitation, a dict {question key: raw value}. Each
scorer takes a list of responses and returns a `Score`: the headline number, the sample size,
a 95 % confidence interval and the parts the number is made of. docs/surveys.md gives every
formula with a worked example; tests/surveys/test_scoring.py checks them by hand.

Statistics are floats (they are estimates, not money), rounded to one decimal for display.
"""

import math
from collections import Counter
from dataclasses import dataclass, field

Z_95 = 1.96

# --- Kinds, their questions and scales --------------------------------------------------------

NPS = "nps"
CSAT = "csat"
CES = "ces"
FACES = "faces"
CLI = "cli"
SECURE = "secure_customer"

# NPS scales, and the bands of each, as (detractors up to, passives up to); the rest promote.
# BAND_VERSION names this table: answers store it, so a later change of bands never re-reads
# old answers under new rules.
BAND_VERSION = 1
NPS_SCALES = {
    "0-10": (0, 10),
    "1-10": (1, 10),
    "1-7": (1, 7),
    "1-5": (1, 5),
}
NPS_BANDS = {
    BAND_VERSION: {
        "0-10": (6, 8),
        "1-10": (6, 8),
        "1-7": (5, 6),
        "1-5": (3, 4),
    },
}
DETRACTOR, PASSIVE, PROMOTER = "detractor", "passive", "promoter"

# The questions of each kind, in the order asked, with their scale (lowest, highest).
QUESTIONS = {
    CSAT: (("satisfied", (1, 5)),),
    CES: (("effort", (1, 7)),),
    FACES: (("today", (1, 4)),),
    # 1 = "definitely", 6 = "definitely not" (the CLI's wording).
    CLI: (("recommend", (1, 6)), ("buy_again", (1, 6)), ("try_other", (1, 6))),
    # 5 = the top box ("very satisfied", "definitely", "definitely").
    SECURE: (("satisfied", (1, 5)), ("buy_again", (1, 5)), ("recommend", (1, 5))),
}
CLI_POINTS = {1: 100, 2: 80, 3: 60, 4: 40, 5: 20, 6: 0}


def questions(kind, nps_scale="0-10"):
    """The (question key, (lowest, highest)) pairs of a kind; NPS asks one, on its scale."""
    if kind == NPS:
        return (("recommend", NPS_SCALES[nps_scale]),)
    return QUESTIONS[kind]


def scale_name(kind, question, nps_scale="0-10"):
    """The scale an answer is stored with, e.g. "0-10"."""
    low, high = dict(questions(kind, nps_scale))[question]
    return f"{low}-{high}"


def nps_band(value, scale, band_version=BAND_VERSION):
    """Detractor, passive or promoter for a raw answer on an NPS scale.

    Raises ValueError for a value outside the scale: an answer is never guessed into a band.
    """
    low, high = NPS_SCALES[scale]
    if not low <= value <= high:
        raise ValueError(f"{value} is not on the {scale} scale")
    detractors_to, passives_to = NPS_BANDS[band_version][scale]
    if value <= detractors_to:
        return DETRACTOR
    if value <= passives_to:
        return PASSIVE
    return PROMOTER


# --- Intervals --------------------------------------------------------------------------------


def wilson_interval(successes, n):
    """95 % Wilson score interval of a proportion, in percent; good with small samples."""
    if n == 0:
        return None, None
    p = successes / n
    denominator = 1 + Z_95**2 / n
    centre = (p + Z_95**2 / (2 * n)) / denominator
    half = Z_95 * math.sqrt(p * (1 - p) / n + Z_95**2 / (4 * n * n)) / denominator
    return _round(100 * (centre - half)), _round(100 * (centre + half))


def mean_interval(values):
    """95 % normal interval of a mean (sample standard deviation); None below two values."""
    n = len(values)
    if n < 2:
        return None, None
    mean = sum(values) / n
    variance = sum((v - mean) ** 2 for v in values) / (n - 1)
    half = Z_95 * math.sqrt(variance / n)
    return _round(mean - half), _round(mean + half)


def _round(number):
    return round(number, 1)


# --- Scores ------------------------------------------------------------------------------------


@dataclass
class Score:
    """A headline number with what it is made of.

    `value` is None when there is no answer. `parts` are counts by band or answer; `shares` are
    the named percentages shown beside the number (e.g. promoters). `enough` says whether the
    sample reaches the minimum for a headline (see `with_minimum`).
    """

    kind: str
    value: float | None
    n: int
    low: float | None = None
    high: float | None = None
    parts: dict = field(default_factory=dict)
    shares: dict = field(default_factory=dict)
    enough: bool = True

    def with_minimum(self, minimum):
        self.enough = self.n >= minimum
        return self


def _values(responses, question):
    return [r[question] for r in responses if r.get(question) is not None]


def score_nps(responses, scale="0-10", band_version=BAND_VERSION):
    """Net Promoter Score: % promoters − % detractors, −100 to 100, on one scale only.

    The interval treats each answer as +100, 0 or −100 and uses the normal approximation.
    """
    bands = Counter(nps_band(v, scale, band_version) for v in _values(responses, "recommend"))
    n = sum(bands.values())
    parts = {band: bands.get(band, 0) for band in (DETRACTOR, PASSIVE, PROMOTER)}
    if n == 0:
        return Score(NPS, None, 0, parts=parts)
    promoters, detractors = parts[PROMOTER] / n, parts[DETRACTOR] / n
    value = 100 * (promoters - detractors)
    variance = promoters + detractors - (promoters - detractors) ** 2
    half = 100 * Z_95 * math.sqrt(variance / n)
    return Score(
        NPS, _round(value), n, _round(max(-100, value - half)), _round(min(100, value + half)),
        parts=parts,
        shares={band: _round(100 * count / n) for band, count in parts.items()},
    )


def _share_score(kind, values, top, parts_range):
    """A score that is the share (in %) of answers at or above `top`."""
    n = len(values)
    parts = {v: values.count(v) for v in parts_range}
    hits = sum(1 for v in values if v >= top)
    if n == 0:
        return Score(kind, None, 0, parts=parts)
    low, high = wilson_interval(hits, n)
    return Score(kind, _round(100 * hits / n), n, low, high, parts=parts)


def score_csat(responses):
    """CSAT: the share of 4 and 5 answers on 1–5, in percent."""
    return _share_score(CSAT, _values(responses, "satisfied"), 4, range(1, 6))


def score_faces(responses):
    """"How was today?": the share of the two happy faces (3 and 4 of 1–4), in percent."""
    return _share_score(FACES, _values(responses, "today"), 3, range(1, 5))


def score_ces(responses):
    """CES: the mean effort answer on 1–7 (7 = very easy) and the share of 5–7."""
    values = _values(responses, "effort")
    n = len(values)
    parts = {v: values.count(v) for v in range(1, 8)}
    if n == 0:
        return Score(CES, None, 0, parts=parts)
    low, high = mean_interval(values)
    easy = sum(1 for v in values if v >= 5)
    return Score(CES, _round(sum(values) / n), n, low, high, parts=parts,
                 shares={"easy": _round(100 * easy / n)})


def _complete(responses, kind):
    keys = [key for key, _scale in QUESTIONS[kind]]
    return [[r[key] for key in keys] for r in responses if all(r.get(key) for key in keys)]


def score_cli(responses):
    """Customer Loyalty Index: each of the three answers (1–6) scores 100, 80, 60, 40, 20 or 0;
    a customer's index is the mean of their three, the CLI the mean over customers (0–100).
    Only customers who answered all three count."""
    indexes = [sum(CLI_POINTS[v] for v in answers) / 3 for answers in _complete(responses, CLI)]
    n = len(indexes)
    if n == 0:
        return Score(CLI, None, 0)
    low, high = mean_interval(indexes)
    return Score(CLI, _round(sum(indexes) / n), n, low, high)


def score_secure(responses):
    """Secure customers: the share (in %) answering the top box (5) to all three questions.
    Only customers who answered all three count."""
    complete = _complete(responses, SECURE)
    n = len(complete)
    secure = sum(1 for answers in complete if all(v == 5 for v in answers))
    if n == 0:
        return Score(SECURE, None, 0)
    low, high = wilson_interval(secure, n)
    return Score(SECURE, _round(100 * secure / n), n, low, high,
                 parts={"secure": secure, "not_secure": n - secure})


def score(kind, responses, nps_scale="0-10"):
    """Score a list of responses of one kind (and, for NPS, one scale)."""
    if kind == NPS:
        return score_nps(responses, nps_scale)
    return {CSAT: score_csat, CES: score_ces, FACES: score_faces, CLI: score_cli,
            SECURE: score_secure}[kind](responses)


def needs_follow_up(kind, response, nps_scale="0-10"):
    """Whether an answer asks for a member of staff to get in touch: an NPS detractor, a CSAT
    of 1 or 2, or the unhappiest face. Other kinds never open one on their own."""
    if kind == NPS and response.get("recommend") is not None:
        return nps_band(response["recommend"], nps_scale) == DETRACTOR
    if kind == CSAT and response.get("satisfied") is not None:
        return response["satisfied"] <= 2
    if kind == FACES and response.get("today") is not None:
        return response["today"] == 1
    return False


def is_promoter(kind, response, nps_scale="0-10"):
    """Whether an answer is glowing enough to ask for a testimonial: an NPS promoter, a CSAT 5,
    the happiest face."""
    if kind == NPS and response.get("recommend") is not None:
        return nps_band(response["recommend"], nps_scale) == PROMOTER
    if kind == CSAT:
        return response.get("satisfied") == 5
    if kind == FACES:
        return response.get("today") == 4
    return False
