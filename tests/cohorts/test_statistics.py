"""learn/cohorts/statistics.py against an example worked by hand.

Six learners, four questions, scores 1 (right) or 0:

            L1 L2 L3 L4 L5 L6   facility
    Q1       1  1  1  0  0  0   3/6
    Q2       1  1  0  0  0  0   2/6
    Q3       0  0  0  1  1  0   2/6
    Q4       1  1  1  1  1  1   6/6
    total    3  3  2  2  2  1

Ranked by total (ties by id): L1 L2 | L3 L4 | L5 L6, so the upper third is {L1, L2} and the
lower third {L5, L6}. D = mean(upper) - mean(lower):
    Q1: 1 - 0 = 1      Q2: 1 - 0 = 1      Q3: 0 - 0.5 = -0.5     Q4: 1 - 1 = 0
Q1 was answered in two versions: v10 by L1-L3 (facility 1), v11 by L4-L6 (facility 0); neither
version was answered by both groups, so neither has a discrimination index.
"""

import pytest

from learn.cohorts.statistics import Response, groups, item_analysis

SCORES = {
    1: [1, 1, 1, 0, 0, 0],
    2: [1, 1, 0, 0, 0, 0],
    3: [0, 0, 0, 1, 1, 0],
    4: [1, 1, 1, 1, 1, 1],
}


def responses() -> list[Response]:
    rows = []
    for question, scores in SCORES.items():
        for learner, score in enumerate(scores, start=1):
            version = (10 if learner <= 3 else 11) if question == 1 else question * 10
            rows.append(
                Response(
                    learner_id=learner,
                    question_id=question,
                    version_id=version,
                    score=score,
                    chosen=("right",) if score else ("wrong",),
                    seconds=10.0 * learner,
                )
            )
    return rows


def by_key():
    return {(s.question_id, s.version_id): s for s in item_analysis(responses())}


def test_groups_are_the_top_and_bottom_thirds_by_total_score() -> None:
    assert groups(responses()) == ({1, 2}, {5, 6})


def test_facility_and_discrimination_match_the_hand_worked_example() -> None:
    stats = by_key()
    expected = {1: (0.5, 1.0), 2: (2 / 6, 1.0), 3: (2 / 6, -0.5), 4: (1.0, 0.0)}
    for question, (facility, discrimination) in expected.items():
        item = stats[(question, None)]
        assert item.attempts == 6
        assert item.facility == pytest.approx(facility)
        assert item.discrimination == pytest.approx(discrimination)


def test_versions_are_analysed_separately() -> None:
    stats = by_key()
    old, new = stats[(1, 10)], stats[(1, 11)]
    assert (old.attempts, old.facility, old.discrimination) == (3, 1.0, None)
    assert (new.attempts, new.facility, new.discrimination) == (3, 0.0, None)
    assert "very hard" in new.flags[0] and "very easy" in old.flags[0]


def test_dubious_questions_are_flagged_as_moodle_does() -> None:
    stats = by_key()
    assert stats[(1, None)].flags == [] and stats[(2, None)].flags == []
    assert any("negative discrimination" in f for f in stats[(3, None)].flags)
    q4 = stats[(4, None)].flags
    assert any("very easy" in f for f in q4) and any("weak discrimination" in f for f in q4)


def test_option_distribution_and_average_time() -> None:
    item = by_key()[(2, None)]
    assert item.options == {"right": 2, "wrong": 4}
    assert item.average_seconds == pytest.approx(35.0)  # mean of 10, 20, ..., 60


def test_fewer_than_three_learners_have_no_discrimination() -> None:
    rows = [Response(learner_id=n, question_id=1, version_id=1, score=n % 2) for n in (1, 2)]
    (overall, _version) = item_analysis(rows)
    assert overall.discrimination is None and overall.facility == 0.5
