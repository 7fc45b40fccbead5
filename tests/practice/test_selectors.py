import pytest

from learn.practice import selectors
from tests.practice.factories import single_question

pytestmark = pytest.mark.django_db


def test_quiz_topics_leave_out_tags_with_too_few_questions() -> None:
    for _ in range(selectors.QUIZ_TOPIC_MIN_QUESTIONS):
        single_question(question__tags=["pricing"])
    single_question(question__tags=["504"])

    assert [tag.slug for tag in selectors.quiz_topic_list()] == ["pricing"]
    # Every tag with a question still counts for readiness and results.
    assert {tag.slug for tag in selectors.topic_list()} == {"pricing", "504"}
    assert next(t for t in selectors.quiz_topic_list()).question_count == 3
