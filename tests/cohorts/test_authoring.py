"""learn/cohorts/authoring.py and the question editor pages."""

import pytest
from django.contrib.admin.models import LogEntry

from learn.practice.models import Question
from tests.cohorts.factories import quiz
from tests.factories import InstructorFactory
from tests.practice.factories import (
    code_question,
    numeric_question,
    single_question,
    true_false_question,
)

pytestmark = pytest.mark.django_db


def form_data(question: Question, **changes) -> dict:
    version = question.current_version
    data = {
        "title": question.title,
        "lesson": question.lesson.slug,
        "difficulty": question.difficulty,
        "tags": ", ".join(t.slug for t in question.tags.all()),
        "prompt": version.prompt_markdown,
        "explanation": version.explanation_markdown,
    }
    for n, choice in enumerate(version.choices.all()):
        data[f"choice_{n}_text"] = choice.text
        data[f"choice_{n}_why"] = choice.why
        if choice.correct:
            data[f"choice_{n}_correct"] = "on"
    data.update(changes)
    return data


def test_learners_get_403(client, learner) -> None:
    version = single_question()
    slug = version.question.slug
    client.force_login(learner)
    for method, url in [
        ("get", "/instructor/questions/"),
        ("get", f"/instructor/questions/{slug}/"),
        ("post", f"/instructor/questions/{slug}/"),
        ("post", f"/instructor/questions/{slug}/preview/"),
        ("post", f"/instructor/questions/{slug}/publish/"),
        ("get", f"/instructor/questions/{slug}/history/"),
    ]:
        assert getattr(client, method)(url).status_code == 403, url


def test_editing_the_text_makes_a_new_version_and_old_answers_keep_theirs(
    client, instructor, learner
) -> None:
    from django.utils import timezone

    version = single_question()
    question = version.question
    quiz(user=learner, started_at=timezone.now(), answers=[(version, 1.0, 5)])
    client.force_login(instructor)
    page = client.get(f"/instructor/questions/{question.slug}/").content.decode()
    assert "What is the answer?" in page and 'value="15 minutes"' in page

    response = client.post(
        f"/instructor/questions/{question.slug}/",
        form_data(question, prompt="What is the **longest** timeout?", choice_1_text="10 minutes"),
    )
    assert response.status_code == 302
    question.refresh_from_db()
    new = question.current_version
    assert new.pk != version.pk and new.number == version.number + 1
    assert new.prompt_markdown == "What is the **longest** timeout?"
    assert [c.text for c in new.choices.all()] == ["15 minutes", "10 minutes", "1 hour"]
    assert version.items.get().answer.score == 1.0  # the old attempt still points at v1
    assert LogEntry.objects.filter(user=instructor, object_id=str(question.pk)).count() == 1

    # Saving again without a change makes nothing.
    client.post(f"/instructor/questions/{question.slug}/", form_data(question))
    assert question.versions.count() == 2

    history = client.get(f"/instructor/questions/{question.slug}/history/").content.decode()
    assert f"Version {new.number}" in history and "(current)" in history
    assert '<span class="diff-remove">-What is the answer?</span>' in history
    assert "+What is the **longest** timeout?" in history
    assert "+[ ] 10 minutes (why: why)" in history


def test_the_bank_rules_apply(client, instructor) -> None:
    version = single_question()
    question = version.question
    client.force_login(instructor)
    data = form_data(question, choice_1_correct="on")
    response = client.post(f"/instructor/questions/{question.slug}/", data)
    assert response.status_code == 400
    assert "exactly one correct choice" in response.content.decode()
    assert question.versions.count() == 1


def test_true_false_and_numeric_edit_in_place(client, instructor) -> None:
    truth = true_false_question(answer=True).question
    number = numeric_question(answer="12.5", tolerance="0.01").question
    client.force_login(instructor)
    client.post(f"/instructor/questions/{truth.slug}/", form_data(truth, answer="false"))
    truth.refresh_from_db()
    assert truth.current_version.answer_bool is False and truth.versions.count() == 2
    page = client.get(f"/instructor/questions/{number.slug}/").content.decode()
    assert 'value="12.5"' in page and 'value="0.01"' in page
    client.post(
        f"/instructor/questions/{number.slug}/",
        form_data(number, numeric_answer="12.5", numeric_tolerance="0.01", numeric_unit="USD"),
    )
    assert number.versions.count() == 1  # same number, written differently: no new version


def test_publish_and_unpublish(client, instructor) -> None:
    question = single_question().question
    first = question.current_version
    client.force_login(instructor)
    client.post(f"/instructor/questions/{question.slug}/publish/", {"publish": "0"})
    question.refresh_from_db()
    assert question.current_version is None
    unpublished = client.get("/instructor/questions/", {"status": "unpublished"}).content.decode()
    assert question.slug in unpublished
    # Edits to an unpublished question stay unpublished.
    client.post(f"/instructor/questions/{question.slug}/", form_data_unpublished(question))
    question.refresh_from_db()
    assert question.current_version is None and question.versions.count() == 2
    client.post(f"/instructor/questions/{question.slug}/publish/", {"publish": "1"})
    question.refresh_from_db()
    assert question.current_version.number == first.number + 1
    assert question.current_version.prompt_markdown == "Changed while unpublished."
    messages = LogEntry.objects.filter(user=instructor).values_list("change_message", flat=True)
    assert {"Unpublished.", "Published."} <= set(messages)


def form_data_unpublished(question: Question) -> dict:
    question.current_version = question.versions.order_by("-number").first()
    return form_data(question, prompt="Changed while unpublished.")


def test_search_and_filters(client, instructor) -> None:
    single_question(question__slug="alpha", question__difficulty="hard")
    true_false_question(question__slug="beta")
    client.force_login(instructor)
    url = "/instructor/questions/"
    assert "beta" not in client.get(url, {"type": "single"}).content.decode()
    assert "alpha" in client.get(url, {"difficulty": "hard"}).content.decode()
    partial = client.get(url, {"q": "bet"}, HTTP_HX_REQUEST="true").content.decode()
    assert "beta" in partial and "alpha" not in partial and "<html" not in partial


def test_preview_renders_like_the_site(client, instructor) -> None:
    question = single_question().question
    client.force_login(instructor)
    response = client.post(
        f"/instructor/questions/{question.slug}/preview/",
        {"prompt": "**Bold** <script>x</script>", "explanation": "Why", "choice_0_text": "`code`"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert "<strong>Bold</strong>" in html and "<script>" not in html
    assert "<code>code</code>" in html and "<html" not in html


def test_code_challenges_are_not_edited_here(client) -> None:
    question = code_question().question
    client.force_login(InstructorFactory())
    page = client.get(f"/instructor/questions/{question.slug}/").content.decode()
    assert "Markdown file" in page and "Save (a new version" not in page
