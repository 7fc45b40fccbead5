"""Item analysis of quiz questions, after Moodle's quiz statistics. Plain Python, no queries.

Input is one Response per scored answer; output is one ItemStats per (question, version) and
one per question over all its versions (version None).

- Facility index: the mean score (0-1) of the answers; 1 means everybody got it right.
- Discrimination index: learners are ranked by their total score over every response given;
  the top third and the bottom third (n // 3 learners each, ties broken by learner id) are the
  upper and lower groups; D = mean score of the upper group's answers to this question minus
  the lower group's. None with fewer than three learners or when either group did not answer.
- Flags follow Moodle's guidance: facility at or below 5 % (very hard) or at or above 95 %
  (very easy), discrimination below 0 (the strong do worse: a wrong key or a trick) or below
  0.2 (weak).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

FACILITY_LOW = 0.05
FACILITY_HIGH = 0.95
DISCRIMINATION_WEAK = 0.2


@dataclass(frozen=True)
class Response:
    learner_id: int
    question_id: int
    version_id: int
    score: float
    chosen: tuple[str, ...] = ()  # option labels picked (choices, or "True"/"False")
    seconds: float | None = None


@dataclass
class ItemStats:
    question_id: int
    version_id: int | None  # None: all versions together
    attempts: int
    facility: float
    discrimination: float | None
    average_seconds: float | None
    options: Counter[str] = field(default_factory=Counter)
    flags: list[str] = field(default_factory=list)

    @property
    def facility_percent(self) -> int:
        return round(100 * self.facility)

    @property
    def discrimination_percent(self) -> int | None:
        return None if self.discrimination is None else round(100 * self.discrimination)

    @property
    def dubious(self) -> bool:
        return bool(self.flags)


def groups(responses: Iterable[Response]) -> tuple[set[int], set[int]]:
    """(upper, lower) thirds of learners by total score."""
    totals: dict[int, float] = defaultdict(float)
    for response in responses:
        totals[response.learner_id] += response.score
    ranked = sorted(totals, key=lambda learner: (-totals[learner], learner))
    third = len(ranked) // 3
    if third == 0:
        return set(), set()
    return set(ranked[:third]), set(ranked[-third:])


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _flags(facility: float, discrimination: float | None) -> list[str]:
    flags = []
    if facility <= FACILITY_LOW:
        flags.append("very hard: almost nobody gets it right")
    elif facility >= FACILITY_HIGH:
        flags.append("very easy: almost everybody gets it right")
    if discrimination is not None:
        if discrimination < 0:
            flags.append("negative discrimination: weaker learners do better (check the key)")
        elif discrimination < DISCRIMINATION_WEAK:
            flags.append("weak discrimination: it barely separates strong from weak learners")
    return flags


def _stats(
    key: tuple[int, int | None], rows: list[Response], upper: set[int], lower: set[int]
) -> ItemStats:
    facility = sum(r.score for r in rows) / len(rows)
    upper_mean = _mean([r.score for r in rows if r.learner_id in upper])
    lower_mean = _mean([r.score for r in rows if r.learner_id in lower])
    discrimination = None if upper_mean is None or lower_mean is None else upper_mean - lower_mean
    options: Counter[str] = Counter()
    for r in rows:
        options.update(r.chosen)
    times = [r.seconds for r in rows if r.seconds is not None]
    return ItemStats(
        question_id=key[0],
        version_id=key[1],
        attempts=len(rows),
        facility=facility,
        discrimination=discrimination,
        average_seconds=_mean(times),
        options=options,
        flags=_flags(facility, discrimination),
    )


def item_analysis(responses: Iterable[Response]) -> list[ItemStats]:
    """Statistics per question (version None) and per version, questions in first-seen order,
    each question's overall row first and then its versions by id."""
    rows = list(responses)
    upper, lower = groups(rows)
    by_key: dict[tuple[int, int | None], list[Response]] = defaultdict(list)
    for r in rows:
        by_key[(r.question_id, None)].append(r)
        by_key[(r.question_id, r.version_id)].append(r)
    order = list(dict.fromkeys(r.question_id for r in rows))
    result = []
    for question_id in order:
        result.append(_stats((question_id, None), by_key[(question_id, None)], upper, lower))
        versions = sorted(v for q, v in by_key if q == question_id and v is not None)
        for version_id in versions:
            result.append(
                _stats((question_id, version_id), by_key[(question_id, version_id)], upper, lower)
            )
    return result
