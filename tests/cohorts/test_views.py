"""learn/cohorts/views.py: who may see what, joining, managing a cohort, the learners table,
its CSV export and the question statistics page."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from learn.cohorts.models import Assignment, Cohort, Membership, SandboxQuota
from learn.models import LessonProgress
from learn.practice.models import Choice
from learn.study.models import SESSION_MINUTES, StudySession, StudySpan
from tests.cohorts.factories import CohortFactory, member, quiz
from tests.factories import InstructorFactory, UserFactory
from tests.practice.factories import code_question, single_question, true_false_question

pytestmark = pytest.mark.django_db


def cohort_urls(cohort: Cohort, user_id: int) -> list[tuple[str, str]]:
    base = f"/instructor/cohorts/{cohort.pk}"
    return [
        ("get", f"{base}/"),
        ("post", f"{base}/"),
        ("post", f"{base}/code/"),
        ("post", f"{base}/members/{user_id}/remove/"),
        ("post", f"{base}/assignments/"),
        ("post", f"{base}/quota/"),
        ("get", f"{base}/learners/"),
        ("get", f"{base}/learners/?format=csv"),
        ("get", f"{base}/learners/{user_id}/"),
        ("get", f"{base}/questions/"),
    ]


def test_learners_get_403_on_instructor_pages_and_the_admin(client, learner) -> None:
    cohort = CohortFactory()
    member(cohort, learner)
    client.force_login(learner)
    assert client.get("/instructor/").status_code == 403
    assert client.get("/instructor/cohorts/").status_code == 403
    for method, url in cohort_urls(cohort, learner.pk):
        assert getattr(client, method)(url).status_code == 403, url
    assert client.get("/admin/").status_code == 403
    assert client.get("/admin/login/").status_code == 403
    assert client.get("/admin/cohorts/").status_code == 403


def test_visitors_are_sent_to_log_in(client) -> None:
    response = client.get("/instructor/cohorts/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get("/admin/").status_code == 302


def test_another_instructors_cohort_is_404_and_superusers_see_all(client, learner) -> None:
    cohort = CohortFactory(name="Theirs")
    member(cohort, learner)
    other = InstructorFactory()
    client.force_login(other)
    assert "Theirs" not in client.get("/instructor/cohorts/").content.decode()
    for method, url in cohort_urls(cohort, learner.pk):
        assert getattr(client, method)(url).status_code == 404, url
    assert Membership.objects.filter(cohort=cohort).exists()

    root = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(root)
    assert "Theirs" in client.get("/instructor/cohorts/").content.decode()
    assert client.get(f"/instructor/cohorts/{cohort.pk}/").status_code == 200


def test_instructor_home_links_cohorts_and_all_functions(client, instructor) -> None:
    client.force_login(instructor)
    html = client.get("/instructor/").content.decode()
    assert "/instructor/cohorts/" in html and "/sandbox/all/" in html


def test_create_a_cohort_and_a_learner_joins_with_the_code(client, instructor, learner) -> None:
    client.force_login(instructor)
    response = client.post("/instructor/cohorts/", {"name": "Spring", "target_date": "2027-03-01"})
    cohort = Cohort.objects.get()
    assert (
        response.status_code == 302 and response["Location"] == f"/instructor/cohorts/{cohort.pk}/"
    )
    assert cohort.owner == instructor and str(cohort.target_date) == "2027-03-01"
    page = client.get(response["Location"]).content.decode()
    assert cohort.join_code in page and f"/join/{cohort.join_code}/" in page

    client.force_login(learner)
    link = client.get(f"/join/{cohort.join_code}/")
    assert link.status_code == 200 and cohort.join_code in link.content.decode()
    assert not Membership.objects.exists()  # following the link alone joins nobody
    assert client.post("/join/", {"code": f" {cohort.join_code.lower()} "}).status_code == 302
    assert client.post("/join/", {"code": cohort.join_code}).status_code == 302  # twice: harmless
    assert list(cohort.members.all()) == [learner]
    assert "No open cohort" in client.post("/join/", {"code": "NOPE2345"}).content.decode()


def test_closed_cohorts_and_old_codes_refuse_joining(client, instructor, learner) -> None:
    cohort = CohortFactory(owner=instructor)
    old = cohort.join_code
    client.force_login(instructor)
    client.post(f"/instructor/cohorts/{cohort.pk}/code/")
    cohort.refresh_from_db()
    assert cohort.join_code != old
    client.force_login(learner)
    assert client.post("/join/", {"code": old}).status_code == 200
    client.force_login(instructor)
    client.post(f"/instructor/cohorts/{cohort.pk}/", {"name": cohort.name, "joining_open": ""})
    client.force_login(learner)
    assert client.post("/join/", {"code": cohort.join_code}).status_code == 200
    assert not cohort.members.exists()


def test_remove_member_assign_work_and_set_quota_are_logged(client, instructor, learner) -> None:
    cohort = CohortFactory(owner=instructor)
    member(cohort, learner)
    challenge = code_question()
    lesson = challenge.question.lesson
    client.force_login(instructor)
    base = f"/instructor/cohorts/{cohort.pk}"
    assert (
        client.post(
            f"{base}/assignments/", {"kind": "quiz", "lesson": lesson.pk, "due_date": "2027-01-10"}
        ).status_code
        == 302
    )
    assert (
        client.post(
            f"{base}/assignments/",
            {"kind": "challenge", "question": challenge.question.pk, "due_date": "2027-01-12"},
        ).status_code
        == 302
    )
    refused = client.post(f"{base}/assignments/", {"kind": "module", "due_date": "2027-01-12"})
    assert refused.status_code == 400 and "Choose the module" in refused.content.decode()
    assert [a.kind for a in Assignment.objects.all()] == ["quiz", "challenge"]
    page = client.get(f"{base}/").content.decode()
    assert "2027-01-10" in page and lesson.title in page

    client.post(f"{base}/quota/", {"invocations_per_minute": "5", "max_memory_mb": "512"})
    quota = SandboxQuota.objects.get(cohort=cohort)
    assert (quota.invocations_per_minute, quota.max_memory_mb, quota.max_timeout_s) == (
        5,
        512,
        None,
    )
    assert client.post(f"{base}/quota/", {"max_memory_mb": "64"}).status_code == 400

    client.post(f"{base}/assignments/{Assignment.objects.first().pk}/delete/")
    client.post(f"{base}/members/{learner.pk}/remove/")
    assert not cohort.members.exists()
    messages = list(
        LogEntry.objects.filter(user=instructor)
        .order_by("pk")
        .values_list("change_message", flat=True)
    )
    assert len(messages) == 5
    assert "Assigned" in messages[0] and "Sandbox quota" in messages[2]
    assert f"Removed {learner.username}" in messages[4]


def test_learners_table_sorts_filters_and_links_to_the_learner(client, instructor) -> None:
    cohort = CohortFactory(owner=instructor)
    ada, bob, cy = (member(cohort, UserFactory(username=n)) for n in ("ada", "bob", "cy"))
    version = single_question()
    now = timezone.now()
    quiz(user=ada, started_at=now - timedelta(hours=1), answers=[(version, 1.0, 5)])
    quiz(user=bob, started_at=now - timedelta(days=30), answers=[(version, 0.0, 5)])
    LessonProgress.objects.create(
        user=bob,
        lesson=version.question.lesson,
        completed_at=now,
        last_viewed_at=now - timedelta(days=20),
    )
    session = StudySession.objects.create(
        user=cy, minutes=SESSION_MINUTES[0], started_at=now, last_seen_at=now
    )
    StudySpan.objects.create(session=session, user=cy, started_at=now, ended_at=now, seconds=600)
    client.force_login(instructor)
    url = f"/instructor/cohorts/{cohort.pk}/learners/"
    by_time = client.get(url, {"sort": "-time_studied"}).content.decode()
    assert "10 min" in by_time and by_time.index(">cy<") < by_time.index(">ada<")
    html = client.get(url, {"sort": "-quiz_accuracy"}).content.decode()
    assert html.index(">ada<") < html.index(">bob<") < html.index(">cy<")  # cy: no answers, last
    assert "100%" in html
    recent = client.get(url, {"activity": "7d"}, HTTP_HX_REQUEST="true").content.decode()
    assert ">ada<" in recent and ">bob<" not in recent and "<html" not in recent
    exported = client.get(url, {"format": "csv", "sort": "username"}).content.decode()
    assert exported.splitlines()[3].split(",")[8] == "10"  # cy's minutes studied
    assert ">cy<" in client.get(url, {"q": "c"}).content.decode()
    assert ">ada<" not in client.get(url, {"q": "c"}).content.decode()
    assert f"/learners/{ada.pk}/" in html

    other_cohort = CohortFactory(owner=instructor)
    assert (
        client.get(f"/instructor/cohorts/{other_cohort.pk}/learners/{ada.pk}/").status_code == 404
    )
    detail = client.get(f"{url}{bob.pk}/").content.decode()
    assert version.question.lesson.title in detail


def test_learner_page_shows_code_submissions_with_sandbox_results(
    client, instructor, learner
) -> None:
    from learn.practice.models import Submission, TestResult

    cohort = CohortFactory(owner=instructor)
    member(cohort, learner)
    version = code_question(question__title="Echo")
    submission = Submission.objects.create(
        user=learner,
        version=version,
        code="def handler(e, c): pass",
        status="failed",
        tests_passed=1,
        tests_total=2,
    )
    for order, test in enumerate(version.tests.all()):
        TestResult.objects.create(
            submission=submission,
            test=test,
            order=order,
            passed=order == 0,
            status="success",
            billed_duration_ms=3,
            max_memory_used_mb=41,
            problem="" if order == 0 else "wrong output",
        )
    client.force_login(instructor)
    html = client.get(f"/instructor/cohorts/{cohort.pk}/learners/{learner.pk}/").content.decode()
    assert "Echo" in html and "1/2 tests" in html and "wrong output" in html and "41 MB" in html
    row = client.get(f"/instructor/cohorts/{cohort.pk}/learners/").content.decode()
    assert "<td>0</td>" in row  # challenges solved: none passed


def test_csv_export_escapes_formula_like_cells(client, instructor) -> None:
    cohort = CohortFactory(owner=instructor, name='=HYPERLINK("http://x")')
    for name in ("@SUM", "+cmd", "-2+3", "plain"):
        member(cohort, UserFactory(username=name))
    client.force_login(instructor)
    response = client.get(f"/instructor/cohorts/{cohort.pk}/learners/", {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:2] == ["cohort", "learner"]
    learners = {row[1] for row in rows[1:]}
    assert learners == {"'@SUM", "'+cmd", "'-2+3", "plain"}
    assert all(row[0] == '\'=HYPERLINK("http://x")' for row in rows[1:])
    for row in rows[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)


def test_question_statistics_page(client, instructor) -> None:
    cohort = CohortFactory(owner=instructor)
    learners = [member(cohort, UserFactory()) for _ in range(3)]
    outsider = UserFactory()
    single = single_question(question__slug="ttl")
    truth = true_false_question(question__slug="tf", answer=True)
    right, wrong = single.choices.get(correct=True), single.choices.filter(correct=False).first()
    now = timezone.now()
    for number, learner in enumerate(learners):
        attempt = quiz(
            user=learner,
            started_at=now,
            answers=[(single, 1.0 if number else 0.0, 10), (truth, 1.0, 30)],
        )
        first, second = attempt.items.order_by("position")
        first.answer.selected_choices.set([right if number else wrong])
        second.answer.bool_value = True
        second.answer.save()
    quiz(user=outsider, started_at=now, answers=[(single, 0.0, 99)])
    client.force_login(instructor)
    response = client.get(f"/instructor/cohorts/{cohort.pk}/questions/")
    html = response.content.decode()
    assert response.status_code == 200
    # tf: everybody right, so it is flagged and listed first; the outsider is not counted.
    assert html.index("tf") < html.index("ttl")
    assert "very easy" in html
    assert "67%" in html  # ttl facility 2/3
    assert "✓ 15 minutes: 2" in html and "5 minutes: 1" in html
    assert "True: 3" in html
    assert "10 s" in html and "30 s" in html
    assert Choice.objects.filter(version=single).count() == 3
