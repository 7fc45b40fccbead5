from datetime import UTC, datetime, timedelta

import pytest

from learn.practice.models import (
    Answer,
    AttemptKind,
    AttemptStatus,
    KeyPoint,
    Rating,
    ReviewCard,
    ReviewLog,
    SelfGrade,
)
from learn.practice.services.attempts import (
    AttemptClosed,
    MockExpired,
    MockPaused,
    NotInAttempt,
    answer_rubric_grade,
    answer_self_grade,
    answer_submit,
    attempt_finish,
    mock_expire_check,
    mock_pause,
    mock_remaining,
    mock_resume,
    mock_start,
    quiz_start,
    review_rate,
    review_start,
    rubric_grade,
)
from learn.practice.services.grading import MalformedAnswer, PracticeError, Response
from tests.practice.factories import (
    TagFactory,
    numeric_question,
    short_question,
    single_question,
    true_false_question,
)

pytestmark = pytest.mark.django_db
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def bank():
    return [single_question(), true_false_question(), numeric_question(), short_question()]


def right_choice(version):
    return Response(choice_ids=[c.pk for c in version.choices.all() if c.correct])


def test_quiz_picks_from_the_lesson(learner, bank):
    attempt = quiz_start(user=learner, lesson=bank[0].question.lesson, now=T0)
    assert [i.version for i in attempt.items.all()] == [bank[0]]
    assert attempt.kind == AttemptKind.QUIZ and attempt.started_at == T0


def test_quiz_picks_by_topic_and_length(learner, bank):
    topic = TagFactory(slug="pricing")
    bank[2].question.tags.add(topic)
    attempt = quiz_start(user=learner, topics=[topic], now=T0)
    assert [i.version for i in attempt.items.all()] == [bank[2]]
    assert quiz_start(user=learner, length=2, now=T0).items.count() == 2


def test_quiz_with_nothing_to_ask_says_so(learner, bank):
    with pytest.raises(PracticeError, match="No questions"):
        quiz_start(user=learner, topics=[TagFactory(slug="empty")], now=T0)


def test_answering_twice_never_double_counts(learner, bank):
    attempt = quiz_start(user=learner, lesson=bank[0].question.lesson, now=T0)
    item = attempt.items.get()
    first, created = answer_submit(
        attempt=attempt, item_id=item.pk, response=right_choice(bank[0]), now=T0
    )
    wrong = Response(choice_ids=[c.pk for c in bank[0].choices.all() if not c.correct][:1])
    again, created_again = answer_submit(attempt=attempt, item_id=item.pk, response=wrong, now=T0)
    assert created and not created_again
    assert again.pk == first.pk and again.correct
    assert Answer.objects.count() == 1
    assert ReviewLog.objects.count() == 1


def test_a_quiz_answer_rates_the_card_from_correctness(learner, bank):
    attempt = quiz_start(user=learner, lesson=bank[1].question.lesson, now=T0)
    item = attempt.items.get()
    answer, _ = answer_submit(
        attempt=attempt, item_id=item.pk, response=Response(bool_value=True), now=T0
    )
    assert answer.correct is False
    log = answer.review_log
    assert log.rating == Rating.AGAIN and log.card.user == learner


def test_an_answer_to_a_question_not_in_the_attempt_is_refused(learner, bank):
    attempt = quiz_start(user=learner, lesson=bank[0].question.lesson, now=T0)
    other = quiz_start(user=learner, lesson=bank[1].question.lesson, now=T0)
    with pytest.raises(NotInAttempt, match="not part of this session"):
        answer_submit(
            attempt=attempt,
            item_id=other.items.get().pk,
            response=Response(bool_value=True),
            now=T0,
        )
    assert Answer.objects.count() == 0


def test_a_malformed_number_records_nothing_and_can_be_corrected(learner, bank):
    attempt = quiz_start(user=learner, lesson=bank[2].question.lesson, now=T0)
    item = attempt.items.get()
    with pytest.raises(MalformedAnswer):
        answer_submit(
            attempt=attempt, item_id=item.pk, response=Response(numeric_raw="12,5"), now=T0
        )
    assert not Answer.objects.exists()
    answer, created = answer_submit(
        attempt=attempt, item_id=item.pk, response=Response(numeric_raw="12.5"), now=T0
    )
    assert created and answer.correct


def test_a_finished_attempt_takes_no_more_answers(learner, bank):
    attempt = quiz_start(user=learner, lesson=bank[0].question.lesson, now=T0)
    attempt_finish(attempt=attempt, now=T0)
    with pytest.raises(AttemptClosed):
        answer_submit(
            attempt=attempt, item_id=attempt.items.get().pk, response=right_choice(bank[0]), now=T0
        )


def test_self_grade_scores_and_schedules_once(learner, bank):
    attempt = quiz_start(user=learner, lesson=bank[3].question.lesson, now=T0)
    item = attempt.items.get()
    answer, _ = answer_submit(
        attempt=attempt, item_id=item.pk, response=Response(text="900 s"), now=T0
    )
    assert answer.correct is None and not hasattr_log(answer)
    answer_self_grade(answer=answer, grade=SelfGrade.PARTLY, now=T0)
    answer_self_grade(answer=answer, grade=SelfGrade.GOT_IT, now=T0)
    answer.refresh_from_db()
    assert answer.score == 1.0 and answer.correct
    assert ReviewLog.objects.filter(answer=answer).count() == 1
    assert ReviewLog.objects.get(answer=answer).rating == Rating.HARD


def hasattr_log(answer):
    return ReviewLog.objects.filter(answer=answer).exists()


# Mock interviews -----------------------------------------------------------------------------


def test_mock_mixes_types_with_a_deadline(learner, bank):
    attempt = mock_start(user=learner, minutes=20, count=4, now=T0)
    types = {i.version.question.type for i in attempt.items.all()}
    assert types == {"single", "true_false", "numeric", "short"}
    assert attempt.deadline == T0 + timedelta(minutes=20)
    assert mock_remaining(attempt=attempt, now=T0 + timedelta(minutes=5)) == timedelta(minutes=15)


def test_an_answer_after_the_deadline_is_refused_and_earlier_ones_kept(learner, bank):
    attempt = mock_start(user=learner, minutes=20, count=4, now=T0)
    first, second = list(attempt.items.all())[:2]
    answer_submit(
        attempt=attempt,
        item_id=first.pk,
        response=Response(
            text="x",
            bool_value=True,
            numeric_raw="1",
            choice_ids=[c.pk for c in first.version.choices.all()][:1],
        ),
        now=T0 + timedelta(minutes=19),
    )
    with pytest.raises(MockExpired, match="Time is up"):
        answer_submit(
            attempt=attempt,
            item_id=second.pk,
            response=Response(
                text="y",
                bool_value=True,
                numeric_raw="1",
                choice_ids=[c.pk for c in second.version.choices.all()][:1],
            ),
            now=T0 + timedelta(minutes=21),
        )
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.FINISHED and attempt.finished_at == attempt.deadline
    assert Answer.objects.filter(item__attempt=attempt).count() == 1


def test_the_grace_period_covers_requests_in_flight(learner, bank):
    attempt = mock_start(user=learner, minutes=20, count=4, now=T0)
    item = attempt.items.filter(version=bank[1]).get()
    _answer, created = answer_submit(
        attempt=attempt,
        item_id=item.pk,
        response=Response(bool_value=False),
        now=T0 + timedelta(minutes=20, seconds=1),
    )
    assert created


def test_pause_freezes_the_clock_and_resume_moves_the_deadline(learner, bank):
    attempt = mock_start(user=learner, minutes=20, count=4, now=T0)
    mock_pause(attempt=attempt, now=T0 + timedelta(minutes=5))
    attempt = mock_pause(attempt=attempt, now=T0 + timedelta(minutes=6))  # idempotent
    assert attempt.paused_at == T0 + timedelta(minutes=5)
    assert mock_remaining(attempt=attempt, now=T0 + timedelta(hours=2)) == timedelta(minutes=15)
    assert not mock_expire_check(attempt=attempt, now=T0 + timedelta(hours=2))
    item = attempt.items.first()
    with pytest.raises(MockPaused):
        answer_submit(
            attempt=attempt,
            item_id=item.pk,
            response=Response(bool_value=True),
            now=T0 + timedelta(minutes=7),
        )
    attempt = mock_resume(attempt=attempt, now=T0 + timedelta(minutes=35))
    assert attempt.paused_at is None
    assert attempt.deadline == T0 + timedelta(minutes=50)
    assert mock_remaining(attempt=attempt, now=T0 + timedelta(minutes=35)) == timedelta(minutes=15)


def test_expiry_is_noticed_without_an_answer(learner, bank):
    attempt = mock_start(user=learner, minutes=20, count=4, now=T0)
    assert not mock_expire_check(attempt=attempt, now=T0 + timedelta(minutes=10))
    assert mock_expire_check(attempt=attempt, now=T0 + timedelta(minutes=30))
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.FINISHED


def test_mock_answers_schedule_cards(learner, bank):
    attempt = mock_start(user=learner, minutes=20, count=4, now=T0)
    item = attempt.items.filter(version=bank[1]).get()
    answer_submit(attempt=attempt, item_id=item.pk, response=Response(bool_value=False), now=T0)
    assert ReviewCard.objects.get(user=learner, question=bank[1].question).last_review == T0


# Reviews -------------------------------------------------------------------------------------


def test_review_session_holds_the_due_cards_and_rating_moves_them(learner, bank):
    assert review_start(user=learner, now=T0) is None
    quiz = quiz_start(user=learner, lesson=bank[1].question.lesson, now=T0)
    answer_submit(
        attempt=quiz, item_id=quiz.items.get().pk, response=Response(bool_value=True), now=T0
    )
    card = ReviewCard.objects.get(user=learner)
    session = review_start(user=learner, now=card.due)
    assert session is not None and session.kind == AttemptKind.REVIEW
    item = session.items.get()
    answer, _ = answer_submit(
        attempt=session, item_id=item.pk, response=Response(bool_value=False), now=card.due
    )
    assert answer.correct and not ReviewLog.objects.filter(answer=answer).exists()
    log = review_rate(answer=answer, rating=Rating.EASY, now=card.due)
    again = review_rate(answer=answer, rating=Rating.AGAIN, now=card.due)
    assert again.pk == log.pk and log.rating == Rating.EASY and log.suggested_rating == Rating.GOOD
    card.refresh_from_db()
    assert card.due == log.due_after >= log.review_datetime + timedelta(days=1)
    session.refresh_from_db()
    assert session.status == AttemptStatus.FINISHED
    assert review_start(user=learner, now=log.review_datetime) is None


def test_rating_an_open_answer_in_review_is_its_self_grade(learner, bank):
    quiz = quiz_start(user=learner, lesson=bank[3].question.lesson, now=T0)
    answer_submit(attempt=quiz, item_id=quiz.items.get().pk, response=Response(text="a"), now=T0)
    session = review_start(user=learner, now=T0)
    answer, _ = answer_submit(
        attempt=session, item_id=session.items.get().pk, response=Response(text="b"), now=T0
    )
    review_rate(answer=answer, rating=Rating.HARD, now=T0)
    answer.refresh_from_db()
    assert answer.self_grade == SelfGrade.PARTLY and answer.score == 0.5


@pytest.mark.parametrize(
    ("met", "total", "grade"),
    [
        (4, 4, SelfGrade.GOT_IT),
        (3, 4, SelfGrade.PARTLY),
        (2, 4, SelfGrade.PARTLY),
        (1, 4, SelfGrade.MISSED),
        (0, 1, SelfGrade.MISSED),
        (1, 1, SelfGrade.GOT_IT),
    ],
)
def test_rubric_grade_thresholds(met, total, grade):
    assert rubric_grade(met=met, total=total) == grade


def test_rubric_grade_needs_a_rubric():
    with pytest.raises(PracticeError):
        rubric_grade(met=0, total=0)


def answered_short(learner, version):
    attempt = quiz_start(user=learner, lesson=version.question.lesson, now=T0)
    answer, _ = answer_submit(
        attempt=attempt, item_id=attempt.items.get().pk, response=Response(text="900 s"), now=T0
    )
    return answer


def test_ticked_points_feed_the_self_grade_and_the_schedule(learner):
    version = short_question()
    for order, text in enumerate(["Split into steps.", "Use Step Functions.", "Or Fargate."], 1):
        KeyPoint.objects.create(version=version, order=order, text=text)
    points = list(version.key_points.all())
    answer = answered_short(learner, version)
    answer_rubric_grade(answer=answer, point_ids=[points[0].pk, points[2].pk], now=T0)
    answer.refresh_from_db()
    assert set(answer.key_points_met.all()) == {points[0], points[2]}
    assert answer.self_grade == SelfGrade.PARTLY and answer.score == 0.5 and not answer.correct
    assert ReviewLog.objects.get(answer=answer).rating == Rating.HARD
    # Reconsidering with every point ticked changes the grade, not the schedule.
    answer_rubric_grade(answer=answer, point_ids=[p.pk for p in points], now=T0)
    answer.refresh_from_db()
    assert answer.self_grade == SelfGrade.GOT_IT and answer.score == 1.0 and answer.correct
    assert ReviewLog.objects.filter(answer=answer).count() == 1


def test_nothing_ticked_is_missed(learner):
    answer = answered_short(learner, short_question())
    answer_rubric_grade(answer=answer, point_ids=[], now=T0)
    answer.refresh_from_db()
    assert answer.self_grade == SelfGrade.MISSED and answer.score == 0.0


def test_a_point_of_another_question_is_refused(learner):
    answer = answered_short(learner, short_question())
    other = short_question().key_points.get()
    with pytest.raises(PracticeError):
        answer_rubric_grade(answer=answer, point_ids=[other.pk], now=T0)
    assert not answer.key_points_met.exists()
