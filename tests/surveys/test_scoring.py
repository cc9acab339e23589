"""Each kind's score against examples worked out by hand, and the NPS bands of every scale."""

import pytest

from surveys import scoring
from surveys.scoring import DETRACTOR, PASSIVE, PROMOTER


def nps(*values):
    return [{"recommend": v} for v in values]


@pytest.mark.parametrize(("scale", "detractors", "passives", "promoters"), [
    ("0-10", range(0, 7), (7, 8), (9, 10)),
    ("1-10", range(1, 7), (7, 8), (9, 10)),
    ("1-7", range(1, 6), (6,), (7,)),
    ("1-5", range(1, 4), (4,), (5,)),
])
def test_every_nps_scale_has_the_bands_the_issue_states(scale, detractors, passives, promoters):
    assert [scoring.nps_band(v, scale) for v in detractors] == [DETRACTOR] * len(detractors)
    assert [scoring.nps_band(v, scale) for v in passives] == [PASSIVE] * len(passives)
    assert [scoring.nps_band(v, scale) for v in promoters] == [PROMOTER] * len(promoters)


@pytest.mark.parametrize(("scale", "value"), [("0-10", 11), ("1-10", 0), ("1-7", 8), ("1-5", 0)])
def test_a_value_off_the_scale_is_never_put_in_a_band(scale, value):
    with pytest.raises(ValueError, match="not on the"):
        scoring.nps_band(value, scale)


def test_nps_on_0_to_10():
    # 5 promoters (9, 10, 10, 9, 9), 3 passives (7, 8, 8), 2 detractors (0, 6) of 10:
    # 50 % − 20 % = 30. Variance = 0.5 + 0.2 − 0.3² = 0.61; half = 196 × √(0.061) = 48.4.
    result = scoring.score_nps(nps(9, 10, 10, 9, 9, 7, 8, 8, 0, 6), "0-10")
    assert result.value == 30.0 and result.n == 10
    assert result.parts == {DETRACTOR: 2, PASSIVE: 3, PROMOTER: 5}
    assert result.shares == {DETRACTOR: 20.0, PASSIVE: 30.0, PROMOTER: 50.0}
    assert (result.low, result.high) == (-18.4, 78.4)


def test_the_same_raw_numbers_score_differently_on_a_1_to_5_scale():
    # On 1–5, 5 promotes, 4 is passive, 1–3 detract: 5, 5, 4, 3 → 50 % − 25 % = 25.
    assert scoring.score_nps(nps(5, 5, 4, 3), "1-5").value == 25.0
    # The same numbers on 0–10 are all detractors: −100.
    assert scoring.score_nps(nps(5, 5, 4, 3), "0-10").value == -100.0


def test_nps_on_1_to_7():
    # 7 promotes, 6 is passive, 1–5 detract: 7, 7, 7, 6, 2 → 60 % − 20 % = 40.
    assert scoring.score_nps(nps(7, 7, 7, 6, 2), "1-7").value == 40.0


def test_nps_interval_stays_within_the_scale():
    result = scoring.score_nps(nps(10, 10), "0-10")
    assert result.value == 100.0 and result.high == 100.0 and result.low == 100.0


def test_csat_is_the_share_of_4_and_5():
    # 4, 5, 5, 3, 1 → 3 of 5 satisfied = 60 %. Wilson 95 %: 23.1 to 88.2.
    result = scoring.score_csat([{"satisfied": v} for v in (4, 5, 5, 3, 1)])
    assert result.value == 60.0 and result.n == 5
    assert result.parts == {1: 1, 2: 0, 3: 1, 4: 1, 5: 2}
    assert (result.low, result.high) == (23.1, 88.2)


def test_ces_is_the_mean_and_the_share_of_5_to_7():
    # 7, 6, 5, 2 → mean 20 / 4 = 5.0; 3 of 4 at 5 or more = 75 %.
    # Sample sd = √((4 + 1 + 0 + 9) / 3) = 2.160; half = 1.96 × 2.160 / 2 = 2.12.
    result = scoring.score_ces([{"effort": v} for v in (7, 6, 5, 2)])
    assert result.value == 5.0 and result.shares == {"easy": 75.0}
    assert (result.low, result.high) == (2.9, 7.1)


def test_faces_is_the_share_of_the_two_happy_faces():
    # 4, 3, 2, 1 → 2 of 4 happy = 50 %.
    result = scoring.score_faces([{"today": v} for v in (4, 3, 2, 1)])
    assert result.value == 50.0 and result.parts == {1: 1, 2: 1, 3: 1, 4: 1}


def test_cli_maps_1_to_6_onto_100_to_0_and_averages():
    # Customer A answers 1, 2, 3 → 100, 80, 60 → 80. Customer B answers 6, 6, 5 → 0, 0, 20 → 6.67.
    # CLI = (80 + 6.67) / 2 = 43.3. A customer who skipped a question does not count.
    responses = [
        {"recommend": 1, "buy_again": 2, "try_other": 3},
        {"recommend": 6, "buy_again": 6, "try_other": 5},
        {"recommend": 1, "buy_again": 1},
    ]
    result = scoring.score_cli(responses)
    assert result.value == 43.3 and result.n == 2


def test_secure_customers_answer_the_top_box_three_times():
    # Only the first of three is secure (5, 5, 5): 33.3 %.
    responses = [
        {"satisfied": 5, "buy_again": 5, "recommend": 5},
        {"satisfied": 5, "buy_again": 4, "recommend": 5},
        {"satisfied": 3, "buy_again": 5, "recommend": 5},
    ]
    result = scoring.score_secure(responses)
    assert result.value == 33.3 and result.parts == {"secure": 1, "not_secure": 2}


def test_no_answers_is_no_score():
    for kind in (scoring.NPS, scoring.CSAT, scoring.CES, scoring.FACES, scoring.CLI, scoring.SECURE):
        result = scoring.score(kind, [])
        assert result.value is None and result.n == 0, kind


def test_a_headline_needs_the_minimum_sample():
    assert not scoring.score_csat([{"satisfied": 5}] * 29).with_minimum(30).enough
    assert scoring.score_csat([{"satisfied": 5}] * 30).with_minimum(30).enough


def test_who_gets_a_follow_up_and_who_is_asked_for_a_testimonial():
    assert scoring.needs_follow_up(scoring.NPS, {"recommend": 6}, "0-10")
    assert not scoring.needs_follow_up(scoring.NPS, {"recommend": 6}, "1-7")  # passive there
    assert scoring.needs_follow_up(scoring.CSAT, {"satisfied": 2})
    assert not scoring.needs_follow_up(scoring.CSAT, {"satisfied": 3})
    assert scoring.needs_follow_up(scoring.FACES, {"today": 1})
    assert scoring.is_promoter(scoring.NPS, {"recommend": 9}, "0-10")
    assert scoring.is_promoter(scoring.NPS, {"recommend": 5}, "1-5")
    assert not scoring.is_promoter(scoring.CSAT, {"satisfied": 4})
