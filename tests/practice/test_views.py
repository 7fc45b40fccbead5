from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from learn.practice.models import (
    Answer,
    Attempt,
    AttemptKind,
    AttemptStatus,
    ReviewCard,
    ReviewLog,
    Submission,
)
from tests.practice.factories import (
    code_question,
    numeric_question,
    short_question,
    single_question,
    true_false_question,
)

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def client_in(client, learner):
    client.force_login(learner)
    return client


@pytest.fixture
def bank():
    return {
        "single": single_question(),
        "tf": true_false_question(),
        "numeric": numeric_question(),
        "short": short_question(),
    }


def start_quiz(client, lesson_slug):
    response = client.post(reverse("practice_quiz_start"), {"lesson": lesson_slug, "length": 5})
    assert response.status_code == 302
    return Attempt.objects.latest("pk")


def test_home_needs_login(client):
    assert client.get(reverse("quiz")).status_code == 302


def test_home_preselects_the_lesson_from_the_query(client_in, bank):
    slug = bank["single"].question.lesson.slug
    response = client_in.get(f"/quiz/?lesson={slug}")
    assert response.status_code == 200
    assert f'value="{slug}" checked' in response.content.decode()


def test_the_picker_groups_lessons_by_module_and_offers_only_cross_lesson_themes(client_in):
    from tests.practice.factories import LessonFactory, ModuleFactory, TagFactory

    later = ModuleFactory(slug="later", title="Later on", order=2)
    lessons = [LessonFactory(title=f"Lesson {n}") for n in range(4)]
    lessons.append(LessonFactory(module=later, title="Lesson 4"))
    wide, narrow, kind = (TagFactory(slug=s) for s in ("limits", "tmp", "arithmetic"))
    for lesson in lessons:
        for _ in range(2):
            version = single_question(question__lesson=lesson)
            version.question.tags.add(wide, kind)
    single_question(question__lesson=lessons[0]).question.tags.add(narrow)
    for _ in range(2):
        single_question(question__lesson=lessons[0]).question.tags.add(narrow)
    html = client_in.get(reverse("quiz")).content.decode()
    picker = html.split('class="lesson-picker"', 1)[1].split("</fieldset>\n</fieldset>", 1)[0]
    assert picker.index("<legend>Foundations</legend>") < picker.index("Lesson 0")
    assert picker.index("Lesson 3") < picker.index("<legend>Later on</legend>")
    assert picker.index("<legend>Later on</legend>") < picker.index("Lesson 4")
    themes = html.split('class="theme-picker"', 1)[1].split("</details>", 1)[0]
    # "limits" runs across five lessons; "tmp" stays in one; "arithmetic" says what kind of
    # question it is, not what it is about.
    assert 'value="limits"' in themes
    assert 'value="tmp"' not in themes and 'value="arithmetic"' not in themes


def test_a_quiz_from_several_lessons_and_a_mock_from_some_draw_only_from_them(client_in, bank):
    from tests.practice.factories import LessonFactory

    chosen = [bank["single"].question.lesson, bank["tf"].question.lesson]
    other = LessonFactory()
    single_question(question__lesson=other)
    client_in.post(
        reverse("practice_quiz_start"),
        {"lessons": [lesson.slug for lesson in chosen], "length": 10},
    )
    quiz = Attempt.objects.get(kind=AttemptKind.QUIZ)
    lessons = {item.version.question.lesson_id for item in quiz.items.all()}
    assert lessons == {lesson.pk for lesson in chosen} and quiz.lesson is None
    client_in.post(reverse("practice_mock_start"), {"minutes": 20, "lessons": [other.slug]})
    mock = Attempt.objects.get(kind=AttemptKind.MOCK)
    assert {item.version.question.lesson_id for item in mock.items.all()} == {other.pk}


def test_results_score_each_lesson_not_each_tag(client_in, bank):
    from tests.practice.factories import TagFactory

    version = bank["single"]
    for n in range(6):
        version.question.tags.add(TagFactory(slug=f"tag-{n}"))
    attempt = start_quiz(client_in, version.question.lesson.slug)
    client_in.post(reverse("practice_finish", args=[attempt.pk]))
    html = client_in.get(reverse("practice_results", args=[attempt.pk])).content.decode()
    table = html.split('class="topic-scores"', 1)[1].split("</table>", 1)[0]
    assert table.count('<th scope="row">') == 1 and version.question.lesson.title in table
    assert "tag-3" not in table


def test_plain_quiz_flow_with_feedback_and_results(client_in, bank):
    version = bank["single"]
    attempt = start_quiz(client_in, version.question.lesson.slug)
    page = client_in.get(reverse("practice_attempt", args=[attempt.pk]))
    assert "What is the answer?" in page.content.decode()
    item = attempt.items.get()
    wrong = version.choices.get(text="1 hour")
    response = client_in.post(
        reverse("practice_answer", args=[attempt.pk]), {"item": item.pk, "choice": wrong.pk}
    )
    assert response.status_code == 302 and response.url.endswith("?item=1")
    feedback = client_in.get(response.url).content.decode()
    assert "Not quite." in feedback and "Because." in feedback
    assert f"/lessons/{version.question.lesson.slug}/" in feedback
    finish = client_in.post(reverse("practice_finish", args=[attempt.pk]))
    results = client_in.get(finish.url).content.decode()
    assert "0/1" in results and f"/lessons/{version.question.lesson.slug}/" in results


def test_getting_results_does_not_finish_an_attempt_only_posting_finish_does(client_in, bank):
    attempt = start_quiz(client_in, bank["single"].question.lesson.slug)
    url = reverse("practice_results", args=[attempt.pk])
    page = client_in.get(url)
    attempt.refresh_from_db()
    assert page.status_code == 200 and attempt.status == AttemptStatus.IN_PROGRESS
    html = page.content.decode()
    assert "still open" in html and reverse("practice_finish", args=[attempt.pk]) in html
    assert client_in.post(reverse("practice_finish", args=[attempt.pk])).status_code == 302
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.FINISHED
    assert "still open" not in client_in.get(url).content.decode()


def test_htmx_answer_returns_the_item_partial_with_an_event(client_in, bank):
    attempt = start_quiz(client_in, bank["tf"].question.lesson.slug)
    item = attempt.items.get()
    response = client_in.post(
        reverse("practice_answer", args=[attempt.pk]), {"item": item.pk, "truth": "false"}, **HTMX
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and "Correct." in body
    assert "answerSaved" in response["HX-Trigger"]


def test_double_submit_keeps_the_first_answer(client_in, bank):
    attempt = start_quiz(client_in, bank["tf"].question.lesson.slug)
    item = attempt.items.get()
    url = reverse("practice_answer", args=[attempt.pk])
    client_in.post(url, {"item": item.pk, "truth": "false"})
    response = client_in.post(url, {"item": item.pk, "truth": "true"}, follow=True)
    assert "already answered" in response.content.decode()
    assert Answer.objects.get().bool_value is False
    assert ReviewLog.objects.count() == 1


def test_answer_to_a_question_not_in_the_attempt(client_in, bank):
    attempt = start_quiz(client_in, bank["tf"].question.lesson.slug)
    other = start_quiz(client_in, bank["single"].question.lesson.slug)
    response = client_in.post(
        reverse("practice_answer", args=[attempt.pk]),
        {"item": other.items.get().pk, "truth": "true"},
        **HTMX,
    )
    assert "not part of this session" in response.content.decode()
    assert not Answer.objects.exists()


def test_malformed_number_gets_a_clear_message_and_nothing_is_saved(client_in, bank):
    attempt = start_quiz(client_in, bank["numeric"].question.lesson.slug)
    item = attempt.items.get()
    url = reverse("practice_answer", args=[attempt.pk])
    response = client_in.post(url, {"item": item.pk, "number": "twelve"}, follow=True)
    assert "is not a number" in response.content.decode()
    assert not Answer.objects.exists()


def test_a_number_too_large_to_store_is_refused_and_the_attempt_still_opens(client_in, bank):
    attempt = start_quiz(client_in, bank["numeric"].question.lesson.slug)
    item = attempt.items.get()
    url = reverse("practice_answer", args=[attempt.pk])
    response = client_in.post(url, {"item": item.pk, "number": "1e9999"}, **HTMX)
    assert "too large a number" in response.content.decode()
    assert not Answer.objects.exists()
    assert client_in.get(reverse("practice_attempt", args=[attempt.pk])).status_code == 200


def test_someone_elses_attempt_is_a_404(client, bank, learner):
    from tests.factories import UserFactory

    other = UserFactory()
    client.force_login(other)
    attempt = start_quiz(client, bank["tf"].question.lesson.slug)
    client.force_login(learner)
    assert client.get(reverse("practice_attempt", args=[attempt.pk])).status_code == 404


def test_short_answer_self_grade_in_a_quiz(client_in, bank):
    attempt = start_quiz(client_in, bank["short"].question.lesson.slug)
    item = attempt.items.get()
    client_in.post(
        reverse("practice_answer", args=[attempt.pk]), {"item": item.pk, "text": "900 s"}
    )
    answer = Answer.objects.get()
    response = client_in.post(
        reverse("practice_self_grade", args=[attempt.pk, answer.pk]), {"grade": "got_it"}, **HTMX
    )
    assert "Got it" in response.content.decode()
    answer.refresh_from_db()
    assert answer.correct is True


def test_short_answer_graded_from_the_ticked_rubric(client_in, bank):
    from learn.practice.models import FollowUp, KeyPoint

    version = bank["short"]
    KeyPoint.objects.create(version=version, order=1, text="Split the work into steps.")
    FollowUp.objects.create(version=version, order=0, text="And if the job takes 40 minutes?")
    attempt = start_quiz(client_in, version.question.lesson.slug)
    item = attempt.items.get()
    page = client_in.post(
        reverse("practice_answer", args=[attempt.pk]), {"item": item.pk, "text": "900 s"}, **HTMX
    ).content.decode()
    assert "Split the work into steps." in page and 'name="points"' in page
    assert "And if the job takes 40 minutes?" in page
    answer = Answer.objects.get()
    first = version.key_points.order_by("order").first()
    response = client_in.post(
        reverse("practice_self_grade", args=[attempt.pk, answer.pk]),
        {"grade": "rubric", "points": [first.pk]},
        **HTMX,
    )
    assert "Partly" in response.content.decode()
    answer.refresh_from_db()
    assert list(answer.key_points_met.all()) == [first] and answer.score == 0.5


def test_mock_hides_answers_until_the_end_then_shows_model_answers(client_in, bank):
    response = client_in.post(reverse("practice_mock_start"), {"minutes": 20})
    attempt = Attempt.objects.get(kind=AttemptKind.MOCK)
    assert response.url == reverse("practice_attempt", args=[attempt.pk])
    page = client_in.get(response.url).content.decode()
    assert "data-mock-clock" in page
    tf_item = attempt.items.get(version=bank["tf"])
    answered = client_in.post(
        reverse("practice_answer", args=[attempt.pk]), {"item": tf_item.pk, "truth": "true"}, **HTMX
    ).content.decode()
    assert "Correct" not in answered and "Not quite" not in answered
    assert client_in.get(reverse("practice_results", args=[attempt.pk])).status_code == 302
    client_in.post(reverse("practice_finish", args=[attempt.pk]))
    results = client_in.get(reverse("practice_results", args=[attempt.pk])).content.decode()
    assert "Readiness per lesson" in results and "Model answer" in results


def test_mock_pause_and_resume_through_the_page(client_in, bank):
    client_in.post(reverse("practice_mock_start"), {"minutes": 20})
    attempt = Attempt.objects.get(kind=AttemptKind.MOCK)
    client_in.post(reverse("practice_pause", args=[attempt.pk]))
    page = client_in.get(reverse("practice_attempt", args=[attempt.pk])).content.decode()
    assert "paused" in page and "What is the answer?" not in page
    client_in.post(reverse("practice_resume", args=[attempt.pk]))
    attempt.refresh_from_db()
    assert attempt.paused_at is None


def test_expired_mock_answer_is_refused_with_a_message(client_in, bank):
    client_in.post(reverse("practice_mock_start"), {"minutes": 20})
    attempt = Attempt.objects.get(kind=AttemptKind.MOCK)
    Attempt.objects.filter(pk=attempt.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    item = attempt.items.get(version=bank["tf"])
    response = client_in.post(
        reverse("practice_answer", args=[attempt.pk]),
        {"item": item.pk, "truth": "true"},
        follow=True,
    )
    assert "Time is up" in response.content.decode()
    assert not Answer.objects.exists()
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.FINISHED


def test_review_flow_shows_the_next_due_date(client_in, bank, learner):
    ReviewCard.objects.create(user=learner, question=bank["tf"].question, due=timezone.now())
    home = client_in.get(reverse("practice_review")).content.decode()
    assert 'data-testid="due-count">1<' in home
    response = client_in.post(reverse("practice_review_start"))
    attempt = Attempt.objects.get(kind=AttemptKind.REVIEW)
    item = attempt.items.get()
    feedback = client_in.post(
        reverse("practice_answer", args=[attempt.pk]), {"item": item.pk, "truth": "false"}, **HTMX
    ).content.decode()
    assert "Suggested from your answer: <strong>Good</strong>" in feedback
    answer = Answer.objects.get()
    rated = client_in.post(
        reverse("practice_rate", args=[attempt.pk, answer.pk]), {"rating": 3}, **HTMX
    )
    assert "Next review" in rated.content.decode()
    assert "cardRated" in rated["HX-Trigger"]
    assert response.status_code == 302


def test_goal_date_and_readiness(client_in, bank, learner):
    date = (timezone.now() + timedelta(days=30)).date().isoformat()
    client_in.post(reverse("practice_goal"), {"interview_date": date})
    ReviewCard.objects.create(user=learner, question=bank["tf"].question, due=timezone.now())
    page = client_in.get(reverse("practice_review")).content.decode()
    assert "Interview day" in page
    past = client_in.post(reverse("practice_goal"), {"interview_date": "2001-01-01"}, follow=True)
    assert "from today onwards" in past.content.decode()


def test_goal_date_with_htmx_swaps_the_goal_card_and_tells_readiness(client_in, learner):
    date = (timezone.now() + timedelta(days=30)).date().isoformat()
    response = client_in.post(reverse("practice_goal"), {"interview_date": date}, **HTMX)
    assert response.status_code == 200
    assert "Interview date saved." in response.content.decode()
    assert "goalChanged" in response["HX-Trigger"]
    learner.refresh_from_db()
    assert learner.practice_goal.interview_date.isoformat() == date

    page = client_in.get(reverse("practice_review")).content.decode()
    assert f'value="{date}"' in page  # what <input type="date"> can show, in any locale

    past = client_in.post(reverse("practice_goal"), {"interview_date": "2001-01-01"}, **HTMX)
    assert past.status_code == 200
    assert "from today onwards" in past.content.decode()
    assert "HX-Trigger" not in past


def test_challenge_page_hides_test_inputs_and_run_creates_a_submission(client_in, learner):
    version = code_question()
    url = reverse("practice_challenge", args=[version.question.slug])
    page = client_in.get(url).content.decode()
    assert "echoes 1" in page and "raise NotImplementedError" in page
    assert "{&quot;x&quot;: 1}" not in page and '"x": 1' not in page
    response = client_in.post(url, {"code": "def handler(e, c):\n    return 1\n"}, **HTMX)
    submission = Submission.objects.get()
    assert submission.user == learner and submission.tests_total == 2
    assert 'hx-get="/quiz/submissions/' in response.content.decode()
    poll = client_in.get(reverse("practice_submission", args=[submission.pk]), **HTMX)
    assert "Queued" in poll.content.decode()


def test_challenge_list_query_count_is_fixed(client_in, django_assert_num_queries):
    for _ in range(3):
        code_question()
    # session, user, instructor check, challenges with best grade, tags
    with django_assert_num_queries(5):
        response = client_in.get(reverse("practice_challenges"))
    assert response.status_code == 200


def test_results_query_count_does_not_grow_with_questions(
    client_in, bank, learner, django_assert_num_queries
):
    from learn.practice.services.attempts import attempt_finish, quiz_start

    def results_queries(n_questions):
        attempt = quiz_start(user=learner, length=n_questions)
        attempt_finish(attempt=attempt)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            client_in.get(reverse("practice_results", args=[attempt.pk]))
        return len(queries)

    assert results_queries(2) == results_queries(4)


def test_asking_for_more_questions_than_there_are_says_how_many(client_in, bank):
    slug = bank["single"].question.lesson.slug
    response = client_in.post(
        reverse("practice_quiz_start"), {"lesson": slug, "length": 20}, follow=True
    )
    attempt = Attempt.objects.latest("pk")
    got = attempt.items.count()
    assert got < 20
    assert (
        f"You asked for 20 questions; only {got} match this selection, so this quiz has {got}."
        in response.content.decode()
    )


def test_a_mock_interview_offers_no_check_or_model_answer_before_the_end(client_in, bank):
    client_in.post(reverse("practice_mock_start"), {"minutes": 20})
    attempt = Attempt.objects.get(kind=AttemptKind.MOCK)
    for item in attempt.items.all():
        page = client_in.get(
            reverse("practice_attempt", args=[attempt.pk]), {"item": item.position}
        ).content.decode()
        form = page.split('class="answer-form"', 1)[1].split("</form>", 1)[0]
        assert "Save answer and go on" in form
        assert ">Check<" not in form.replace(" ", "").replace("\n", "")
        assert "Show the model answer" not in form and "Run tests" not in form
        assert "compare it with the model answer" not in form


def test_a_challenge_offers_node_with_its_own_starter(client_in, learner):
    version = code_question()
    url = reverse("practice_challenge", args=[version.question.slug])
    page = client_in.get(url + "?runtime=nodejs24.x").content.decode()
    assert "export const handler = async" in page and 'data-mode="javascript"' in page
    assert "index.handler" in page and "raise NotImplementedError" not in page
    client_in.post(url, {"code": "export const handler = async () => 1;", "runtime": "nodejs24.x"})
    submission = Submission.objects.get()
    assert submission.runtime == "nodejs24.x"
    # The page reopens in the language last used, with that code.
    again = client_in.get(url).content.decode()
    assert "export const handler = async () =&gt; 1;" in again
    python = client_in.get(url + "?runtime=python3.11").content.decode()
    assert "raise NotImplementedError" in python
    # An unknown language is the one last used.
    assert client_in.post(url, {"code": "x", "runtime": "cobol"}).status_code == 302
    assert Submission.objects.count() == 2
    assert Submission.objects.order_by("-pk").first().runtime == "nodejs24.x"


def test_readiness_follows_the_answers_a_wrong_one_is_not_known(client_in, learner):
    from tests.practice.factories import TagFactory

    tag = TagFactory(slug="limits")
    wrong = true_false_question()
    right = true_false_question(question__lesson=wrong.question.lesson)
    for version in (wrong, right):
        version.question.tags.add(tag)
    attempt = start_quiz(client_in, wrong.question.lesson.slug)
    for item in attempt.items.all():
        truth = "true" if item.version_id == wrong.pk else "false"  # both answers are false
        client_in.post(
            reverse("practice_answer", args=[attempt.pk]), {"item": item.pk, "truth": truth}
        )
    # Both cards were just rated; FSRS alone would say 100% recall for each.
    page = client_in.get(reverse("progress")).content.decode()
    row = page.split("limits <span", 1)[1].split("</tr>", 1)[0]
    assert "2/2" in row and "50%" in row
    assert ReviewCard.objects.get(question=wrong.question).due <= timezone.now() + timedelta(
        minutes=10
    )


def test_each_rating_button_says_when_the_card_comes_back(client_in, bank, learner):
    ReviewCard.objects.create(user=learner, question=bank["tf"].question, due=timezone.now())
    client_in.post(reverse("practice_review_start"))
    attempt = Attempt.objects.get(kind=AttemptKind.REVIEW)
    item = attempt.items.get()
    feedback = client_in.post(
        reverse("practice_answer", args=[attempt.pk]), {"item": item.pk, "truth": "false"}, **HTMX
    ).content.decode()
    ratings = feedback.split('class="ratings"', 1)[1].split("</form>", 1)[0]
    assert "Again · 1 min" in ratings
    assert "Good · 10 min" in ratings
    assert "Easy · " in ratings and " d" in ratings.split("Easy · ", 1)[1][:8]


def test_a_challenge_shows_its_sample_test_whole_and_its_hidden_tests_by_name(client_in):
    version = code_question(sample_first=True)
    page = client_in.get(reverse("practice_challenge", args=[version.question.slug]))
    html = page.content.decode()
    assert "Sample test" in html and "&quot;x&quot;: 1" in html and "&quot;echo&quot;: 1" in html
    assert "echoes b" in html and "&quot;b&quot;" not in html  # hidden: its name only


def test_a_failed_sample_shows_input_expected_actual_a_diff_and_the_log(client_in, learner):
    from learn.practice.models import TestResult

    version = code_question(sample_first=True)
    submission = Submission.objects.create(
        user=learner, version=version, code="x", tests_total=2, status="failed", tests_passed=0
    )
    sample, hidden = version.tests.order_by("order")
    log = "START RequestId: r1 Version: $LATEST\ngot it\nEND RequestId: r1\nREPORT RequestId: r1"
    TestResult.objects.create(
        submission=submission,
        test=sample,
        order=0,
        passed=False,
        status="success",
        output={"echo": 2},
        log=log,
        problem="`echo` is 2, expected 1",
    )
    TestResult.objects.create(
        submission=submission,
        test=hidden,
        order=1,
        passed=False,
        status="success",
        problem="`echo` should be a string, not a number",
    )
    html = client_in.get(reverse("practice_submission", args=[submission.pk]), **HTMX)
    html = html.content.decode()
    sample_part, hidden_part = html.split('data-test-feedback="sample"')[1].split(
        'data-test-feedback="hidden"'
    )
    assert "Input" in sample_part and "Expected" in sample_part and "Your output" in sample_part
    assert 'diff-del">-   &quot;echo&quot;: 1' in sample_part
    assert 'diff-add">+   &quot;echo&quot;: 2' in sample_part
    assert "REPORT RequestId: r1" in sample_part and "got it" in sample_part
    assert "`echo` should be a string, not a number" in hidden_part
    assert "data-log" not in hidden_part and "data-actual" not in hidden_part


def test_the_learner_runs_their_own_event_and_a_bad_event_is_said_in_words(client_in, learner):
    from learn.practice.models import SubmissionKind

    version = code_question()
    url = reverse("practice_challenge", args=[version.question.slug])
    code = "def handler(event, context):\n    return event\n"
    bad = client_in.post(url, {"code": code, "event": "{nope", "action": "event"}, **HTMX)
    assert "not valid JSON" in bad.content.decode()
    assert not Submission.objects.exists()
    client_in.post(url, {"code": code, "event": '{"n": 1}', "action": "event"}, **HTMX)
    run = Submission.objects.get()
    assert run.kind == SubmissionKind.EVENT and run.event == {"n": 1} and run.tests_total == 0
    # The editor keeps the code that ran; earlier runs list only test runs.
    page = client_in.get(url).content.decode()
    assert "return event" in page and "Earlier runs" not in page


def test_earlier_runs_show_their_code_and_open_it_in_the_editor(client_in, learner):
    version = code_question()
    url = reverse("practice_challenge", args=[version.question.slug])
    first = Submission.objects.create(
        user=learner, version=version, code="def handler(e, c):\n    return 'first'\n"
    )
    Submission.objects.create(
        user=learner, version=version, code="def handler(e, c):\n    return 'second'\n"
    )
    page = client_in.get(url).content.decode()
    history = page.split("Earlier runs", 1)[1]
    assert "return &#x27;first&#x27;" in history and f"?from={first.pk}" in history
    # Refreshed by htmx when a run is graded: the section alone.
    part = client_in.get(url, {"partial": "history"}, **HTMX).content.decode()
    assert part.lstrip().startswith('<section id="earlier-runs"') and f"?from={first.pk}" in part
    editor = client_in.get(url, {"from": first.pk}).content.decode().split('id="code"', 1)[1]
    assert editor.split("</textarea>", 1)[0].endswith("return &#x27;first&#x27;\n")


def test_a_challenge_review_opens_with_the_learners_last_code(client_in, learner):
    version = code_question()
    Submission.objects.create(
        user=learner, version=version, code="def handler(e, c):\n    return 'mine'\n"
    )
    ReviewCard.objects.create(user=learner, question=version.question, due=timezone.now())
    client_in.post(reverse("practice_review_start"))
    attempt = Attempt.objects.get(kind=AttemptKind.REVIEW)
    page = client_in.get(reverse("practice_attempt", args=[attempt.pk])).content.decode()
    editor = page.split('id="answer-code"', 1)[1].split("</textarea>", 1)[0]
    assert "data-code-editor" in editor and "return &#x27;mine&#x27;" in editor
    assert "raise NotImplementedError" not in editor


def _review_one(client_in, learner, bank, rating=3):
    ReviewCard.objects.create(user=learner, question=bank["tf"].question, due=timezone.now())
    client_in.post(reverse("practice_review_start"))
    attempt = Attempt.objects.get(kind=AttemptKind.REVIEW)
    item = attempt.items.get()
    client_in.post(
        reverse("practice_answer", args=[attempt.pk]), {"item": item.pk, "truth": "false"}
    )
    answer = Answer.objects.get()
    client_in.post(reverse("practice_rate", args=[attempt.pk, answer.pk]), {"rating": rating})
    return attempt, answer


def test_undo_takes_back_the_last_rating_and_reopens_the_session(client_in, bank, learner):
    from learn.practice.models import ReviewLog

    attempt, answer = _review_one(client_in, learner, bank)
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.FINISHED
    card = ReviewCard.objects.get(user=learner)
    page = client_in.get(
        reverse("practice_attempt", args=[attempt.pk]), {"item": 1}
    ).content.decode()
    assert 'data-testid="undo-rating"' in page
    response = client_in.post(reverse("practice_review_undo", args=[attempt.pk]))
    assert response.status_code == 302 and response["Location"].endswith("?item=1")
    assert not ReviewLog.objects.exists()
    attempt.refresh_from_db()
    card.refresh_from_db()
    assert attempt.status == AttemptStatus.IN_PROGRESS and card.last_review is None
    # The card is offered for rating again, and a new rating finishes the session.
    again = client_in.get(response["Location"]).content.decode()
    assert 'class="ratings"' in again
    client_in.post(reverse("practice_rate", args=[attempt.pk, answer.pk]), {"rating": 1})
    assert ReviewLog.objects.get().rating == 1
    # Nothing left to undo twice over: a second undo, then a third, says so.
    client_in.post(reverse("practice_review_undo", args=[attempt.pk]))
    third = client_in.post(reverse("practice_review_undo", args=[attempt.pk]), follow=True)
    assert "Nothing to undo in this session." in third.content.decode()


def test_a_finished_review_session_ends_on_its_summary(client_in, bank, learner):
    attempt, _ = _review_one(client_in, learner, bank, rating=3)
    response = client_in.get(reverse("practice_attempt", args=[attempt.pk]))
    assert response["Location"] == reverse("practice_review_summary", args=[attempt.pk])
    html = client_in.get(response["Location"]).content.decode()
    assert 'data-testid="reviewed-count"' in html and "<strong>1</strong> card" in html
    assert '<li data-grade="Good"><strong>1</strong> Good</li>' in html
    assert '<li data-grade="Again"><strong>0</strong> Again</li>' in html
    card = ReviewCard.objects.get(user=learner)
    assert f'datetime="{card.due.isoformat()}"' in html
    assert "Nothing else is due. The next card comes back" in html
    assert 'data-testid="undo-rating"' in html
