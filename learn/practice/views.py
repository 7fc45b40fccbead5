"""Pages of interview prep. Each view reads the request, calls one service or selector, renders.

htmx requests get the named partial of the same page; without JavaScript every action is a plain
form post that redirects back, so nothing depends on htmx.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from lambdalab.http import AuthedHtmxHttpRequest
from learn.models import Lesson
from learn.practice import selectors
from learn.practice.forms import (
    RUBRIC,
    AnswerForm,
    GoalForm,
    MockStartForm,
    QuizStartForm,
    RateForm,
    RunTestsForm,
    SelfGradeForm,
)
from learn.practice.models import (
    Answer,
    Attempt,
    AttemptKind,
    AttemptStatus,
    ChallengeRuntime,
    Question,
    Rating,
    SelfGrade,
    Submission,
)
from learn.practice.services import attempts as attempt_services
from learn.practice.services import challenges as challenge_services
from learn.practice.services import reviews as review_services
from learn.practice.services.grading import PracticeError, suggested_rating


def _attempt(request: AuthedHtmxHttpRequest, attempt_id: int) -> Attempt:
    try:
        return selectors.attempt_get(user=request.user, attempt_id=attempt_id)
    except Attempt.DoesNotExist:
        raise Http404("No such session.") from None


def _go(request: AuthedHtmxHttpRequest, url: str) -> HttpResponse:
    """Redirect a plain request; tell htmx to navigate the whole page."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


# Home ----------------------------------------------------------------------------------------


@require_GET
@login_required
def home(request: AuthedHtmxHttpRequest) -> HttpResponse:
    lesson_slug = request.GET.get("lesson", "")
    context = {
        "mock_form": MockStartForm(),
        "lesson_groups": selectors.quiz_lesson_groups(),
        "themes": selectors.quiz_theme_list(),
        "selected_lesson": lesson_slug,
        "form": QuizStartForm(initial={"length": 10}, topic_slugs=[]),
        "summary": selectors.progress_summary(user=request.user),
        "challenge_count": Question.objects.filter(type="code").count(),
    }
    return render(request, "learn/practice/home.html", context)


def _lesson_slugs() -> list[str]:
    return [lesson.slug for group in selectors.quiz_lesson_groups() for lesson in group.lessons]


def _lessons(slugs: list[str]) -> list[Lesson]:
    return list(Lesson.objects.filter(slug__in=slugs)) if slugs else []


@require_POST
@login_required
def quiz_start(request: AuthedHtmxHttpRequest) -> HttpResponse:
    form = QuizStartForm(
        request.POST,
        topic_slugs=[t.slug for t in selectors.quiz_topic_list()],
        lesson_slugs=_lesson_slugs(),
    )
    if not form.is_valid():
        messages.error(request, "Pick a length, lessons and topics from the lists.")
        return _go(request, reverse("quiz"))
    topics = list(selectors.quiz_topic_list().filter(slug__in=form.cleaned_data["topics"]))
    lessons = _lessons([form.cleaned_data["lesson"], *form.cleaned_data["lessons"]])
    try:
        attempt = attempt_services.quiz_start(
            user=request.user, length=form.cleaned_data["length"], lessons=lessons, topics=topics
        )
    except PracticeError as error:
        messages.error(request, str(error))
        return _go(request, reverse("quiz"))
    asked, got = form.cleaned_data["length"], attempt.items.count()
    if got < asked:
        messages.info(
            request,
            f"You asked for {asked} questions; only {got} match this selection, "
            f"so this quiz has {got}.",
        )
    return _go(request, reverse("practice_attempt", args=[attempt.pk]))


@require_POST
@login_required
def mock_start(request: AuthedHtmxHttpRequest) -> HttpResponse:
    form = MockStartForm(request.POST, lesson_slugs=_lesson_slugs())
    valid = form.is_valid()
    minutes = form.cleaned_data["minutes"] if valid else attempt_services.MOCK_MINUTES
    lessons = _lessons(form.cleaned_data["lessons"]) if valid else []
    try:
        attempt = attempt_services.mock_start(user=request.user, minutes=minutes, lessons=lessons)
    except PracticeError as error:
        messages.error(request, str(error))
        return _go(request, reverse("quiz"))
    return _go(request, reverse("practice_attempt", args=[attempt.pk]))


@require_http_methods(["GET", "POST"])
@login_required
def question_page(request: AuthedHtmxHttpRequest, slug: str) -> HttpResponse:
    """One question, as a search result opens it: its prompt, its lesson, and "answer it"."""
    question = selectors.question_get(slug=slug)
    if question is None:
        raise Http404("No such question.")
    if question.type == "code":
        return redirect("practice_challenge", slug)
    if request.method == "POST":
        try:
            attempt = attempt_services.question_quiz_start(user=request.user, question=question)
        except PracticeError as error:
            messages.error(request, str(error))
            return redirect("practice_question", slug)
        return _go(request, reverse("practice_attempt", args=[attempt.pk]))
    return render(request, "learn/practice/question.html", {"question": question})


# Attempts ------------------------------------------------------------------------------------


def _attempt_context(
    request: AuthedHtmxHttpRequest, attempt: Attempt, *, show: int | None = None, **extra: Any
) -> dict[str, Any]:
    items = selectors.attempt_items(attempt=attempt)
    current = selectors.item_current(attempt=attempt, items=items)
    if show is not None:
        current = next((i for i in items if i.position == show), current)
    answer = selectors.answer_of(current) if current else None
    context: dict[str, Any] = {
        "attempt": attempt,
        "items": items,
        "item": current,
        "answer": answer,
        "answered": sum(1 for i in items if selectors.answer_of(i) is not None),
        "is_last": current is not None and current.position == len(items),
        "answer_form": AnswerForm(),
        "rating_choices": Rating.choices,
        "self_grade_choices": SelfGrade.choices,
        "now": timezone.now(),
    }
    if attempt.kind == AttemptKind.MOCK:
        context["remaining_s"] = int(
            attempt_services.mock_remaining(attempt=attempt).total_seconds()
        )
    if answer is not None:
        context["suggested"] = suggested_rating(correct=answer.correct, score=answer.score)
        if attempt.kind == AttemptKind.REVIEW:
            context["log"] = getattr(answer, "review_log", None)
            card = selectors.card_of(user=request.user, question=answer.item.version.question)
            if context["log"] is None and card is not None:
                # Each button says when the card comes back if pressed, as Anki's do.
                intervals = review_services.rating_intervals(card=card)
                context["rating_choices"] = [
                    (value, f"{label} · {intervals[value]}") for value, label in Rating.choices
                ]
    if current is not None and current.version.question.type == "code":
        context["editor_vendored"] = _editor_vendored()
        if attempt.kind == AttemptKind.REVIEW:
            # A review picks up where the learner left the challenge, not from the starter.
            context["last_code"] = selectors.last_code(
                user=request.user,
                question=current.version.question,
                runtime=ChallengeRuntime.PYTHON311,
            )
    context.update(extra)
    return context


def _editor_vendored() -> bool:
    return finders.find("vendor/codemirror/lib/codemirror.js") is not None


@require_GET
@login_required
def attempt_page(request: AuthedHtmxHttpRequest, attempt_id: int) -> HttpResponse:
    attempt = _attempt(request, attempt_id)
    if attempt.kind == AttemptKind.MOCK and attempt_services.mock_expire_check(attempt=attempt):
        return _go(request, reverse("practice_results", args=[attempt.pk]))
    try:
        show = int(request.GET["item"]) if "item" in request.GET else None
    except ValueError:
        show = None
    context = _attempt_context(request, attempt, show=show)
    if context["item"] is None or (
        attempt.status == AttemptStatus.FINISHED and attempt.kind != AttemptKind.REVIEW
    ):
        if attempt.kind == AttemptKind.REVIEW:
            return _go(request, reverse("practice_review_summary", args=[attempt.pk]))
        return redirect("practice_results", attempt.pk)
    template = "learn/practice/attempt.html"
    if request.htmx:
        template += "#item"
    return render(request, template, context)


@require_POST
@login_required
def answer(request: AuthedHtmxHttpRequest, attempt_id: int) -> HttpResponse:
    attempt = _attempt(request, attempt_id)
    form = AnswerForm(request.POST)
    page = reverse("practice_attempt", args=[attempt.pk])
    if not form.is_valid():
        error = "That answer could not be read: " + "; ".join(
            f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items()
        )
        return _answer_error(request, attempt, error, page)
    item_id = form.cleaned_data["item"]
    try:
        saved, created = attempt_services.answer_submit(
            attempt=attempt, item_id=item_id, response=form.response()
        )
    except attempt_services.MockExpired as error:
        messages.warning(request, str(error))
        return _go(request, reverse("practice_results", args=[attempt.pk]))
    except PracticeError as error:
        return _answer_error(request, attempt, str(error), page, item_id=item_id)
    if not created:
        messages.info(request, "You had already answered this question; your first answer stands.")
    position = saved.item.position
    if attempt.kind == AttemptKind.MOCK:
        # Answers stay hidden until the end: straight on to the next question.
        items = selectors.attempt_items(attempt=attempt)
        if selectors.item_current(attempt=attempt, items=items) is None:
            attempt_services.attempt_finish(attempt=attempt)
            return _go(request, reverse("practice_results", args=[attempt.pk]))
        if not request.htmx:
            return redirect(page)
        response = render(
            request, "learn/practice/attempt.html#item", _attempt_context(request, attempt)
        )
    elif request.htmx:
        response = render(
            request,
            "learn/practice/attempt.html#item",
            _attempt_context(request, attempt, show=position),
        )
    else:
        return redirect(f"{page}?item={position}")
    return trigger_client_event(
        response, "answerSaved", {"position": position, "correct": saved.correct}
    )


def _answer_error(
    request: AuthedHtmxHttpRequest,
    attempt: Attempt,
    error: str,
    page: str,
    *,
    item_id: int | None = None,
) -> HttpResponse:
    if not request.htmx:
        messages.error(request, error)
        return redirect(page)
    show = None
    if item_id is not None:
        show = attempt.items.filter(pk=item_id).values_list("position", flat=True).first()
    context = _attempt_context(request, attempt, show=show, error=error)
    return render(request, "learn/practice/attempt.html#item", context)


def _own_answer(attempt: Attempt, answer_id: int) -> Answer:
    try:
        return Answer.objects.select_related("item__attempt", "item__version__question").get(
            pk=answer_id, item__attempt=attempt
        )
    except Answer.DoesNotExist:
        raise Http404("No such answer in this session.") from None


@require_POST
@login_required
def self_grade(request: AuthedHtmxHttpRequest, attempt_id: int, answer_id: int) -> HttpResponse:
    attempt = _attempt(request, attempt_id)
    answer = _own_answer(attempt, answer_id)
    point_ids = [p.pk for p in answer.item.version.key_points.all()]
    form = SelfGradeForm(request.POST, point_ids=point_ids)
    try:
        if not form.is_valid():
            raise PracticeError("Grade your answer as Missed it, Partly or Got it.")
        if form.cleaned_data["grade"] == RUBRIC:
            attempt_services.answer_rubric_grade(
                answer=answer, point_ids=form.cleaned_data["points"]
            )
        else:
            attempt_services.answer_self_grade(answer=answer, grade=form.cleaned_data["grade"])
    except PracticeError as error:
        messages.error(request, str(error))
    position = answer.item.position
    if attempt.status == AttemptStatus.FINISHED:
        url = reverse("practice_results", args=[attempt.pk])
        if request.htmx:
            return render(
                request,
                "learn/practice/results.html#selfgrade",
                {"attempt": attempt, "item": answer.item, "answer": answer},
            )
        return redirect(url)
    if request.htmx:
        return render(
            request,
            "learn/practice/attempt.html#item",
            _attempt_context(request, attempt, show=position),
        )
    return redirect(f"{reverse('practice_attempt', args=[attempt.pk])}?item={position}")


@require_POST
@login_required
def rate(request: AuthedHtmxHttpRequest, attempt_id: int, answer_id: int) -> HttpResponse:
    attempt = _attempt(request, attempt_id)
    answer = _own_answer(attempt, answer_id)
    form = RateForm(request.POST)
    try:
        if not form.is_valid():
            raise PracticeError("Rate with Again, Hard, Good or Easy.")
        log = attempt_services.review_rate(answer=answer, rating=form.cleaned_data["rating"])
    except PracticeError as error:
        messages.error(request, str(error))
        return _go(request, reverse("practice_attempt", args=[attempt.pk]))
    messages.success(
        request,
        f"Rated {log.get_rating_display()}: next review {log.due_after:%a %d %b %Y, %H:%M} UTC.",
    )
    url = f"{reverse('practice_attempt', args=[attempt.pk])}?item={answer.item.position}"
    if request.htmx:
        response = render(
            request,
            "learn/practice/attempt.html#item",
            _attempt_context(request, attempt, show=answer.item.position),
        )
        return trigger_client_event(
            response, "cardRated", {"due": log.due_after.isoformat(), "rating": log.rating}
        )
    return redirect(url)


@require_POST
@login_required
def review_undo(request: AuthedHtmxHttpRequest, attempt_id: int) -> HttpResponse:
    attempt = _attempt(request, attempt_id)
    try:
        answer = attempt_services.review_undo(attempt=attempt)
    except PracticeError as error:
        messages.error(request, str(error))
        return _go(request, reverse("practice_review_summary", args=[attempt.pk]))
    messages.info(request, "Rating undone: rate the card again.")
    return _go(
        request, f"{reverse('practice_attempt', args=[attempt.pk])}?item={answer.item.position}"
    )


@require_GET
@login_required
def review_summary(request: AuthedHtmxHttpRequest, attempt_id: int) -> HttpResponse:
    attempt = _attempt(request, attempt_id)
    if attempt.kind != AttemptKind.REVIEW:
        # A quiz or mock interview sums itself up on its results page.
        return redirect("practice_results", attempt.pk)
    context = {"attempt": attempt, "summary": selectors.review_summary(attempt=attempt)}
    return render(request, "learn/practice/review_summary.html", context)


@require_POST
@login_required
def pause(request: AuthedHtmxHttpRequest, attempt_id: int) -> HttpResponse:
    return _clock(request, attempt_id, attempt_services.mock_pause)


@require_POST
@login_required
def resume(request: AuthedHtmxHttpRequest, attempt_id: int) -> HttpResponse:
    return _clock(request, attempt_id, attempt_services.mock_resume)


def _clock(request: AuthedHtmxHttpRequest, attempt_id: int, action: Any) -> HttpResponse:
    attempt = _attempt(request, attempt_id)
    try:
        attempt = action(attempt=attempt)
    except attempt_services.MockExpired as error:
        messages.warning(request, str(error))
        return _go(request, reverse("practice_results", args=[attempt.pk]))
    except PracticeError as error:
        messages.error(request, str(error))
    # The question is hidden while paused, so the whole page changes.
    return _go(request, reverse("practice_attempt", args=[attempt.pk]))


@require_POST
@login_required
def finish(request: AuthedHtmxHttpRequest, attempt_id: int) -> HttpResponse:
    attempt = _attempt(request, attempt_id)
    attempt_services.attempt_finish(attempt=attempt)
    return _go(request, reverse("practice_results", args=[attempt.pk]))


@require_GET
@login_required
def results(request: AuthedHtmxHttpRequest, attempt_id: int) -> HttpResponse:
    attempt = _attempt(request, attempt_id)
    if attempt.kind == AttemptKind.MOCK:
        attempt_services.mock_expire_check(attempt=attempt)
    # Only POST finish closes an attempt: this page may be reached by a link from anywhere.
    if attempt.status != AttemptStatus.FINISHED and attempt.kind == AttemptKind.MOCK:
        # Answers stay hidden until the interview is over.
        return redirect("practice_attempt", attempt.pk)
    items = selectors.attempt_items(attempt=attempt)
    points, total = selectors.attempt_score(items=items)
    context = {
        "attempt": attempt,
        "items": items,
        "points": points,
        "total": total,
        "percent": round(100 * points / total) if total else 0,
        "topics": selectors.attempt_lesson_scores(items=items),
        "revisit": selectors.lessons_to_revisit(items=items),
        "ungraded": sum(
            1
            for i in items
            if (a := selectors.answer_of(i)) is not None
            and a.correct is None
            and i.version.question.type == "short"
        ),
    }
    return render(request, "learn/practice/results.html", context)


# Reviews -------------------------------------------------------------------------------------


@require_GET
@login_required
def review_home(request: AuthedHtmxHttpRequest) -> HttpResponse:
    goal = selectors.goal_of(user=request.user)
    context = {
        "summary": selectors.progress_summary(user=request.user),
        "upcoming": selectors.upcoming_reviews(user=request.user),
        "goal_form": GoalForm(initial={"interview_date": goal.interview_date if goal else None}),
    }
    template = "learn/practice/review.html"
    if request.htmx:
        template += "#readiness"
    return render(request, template, context)


@require_POST
@login_required
def review_start(request: AuthedHtmxHttpRequest) -> HttpResponse:
    attempt = attempt_services.review_start(user=request.user)
    if attempt is None:
        messages.info(request, "Nothing is due right now. Come back at the next due time.")
        return _go(request, reverse("practice_review"))
    return _go(request, reverse("practice_attempt", args=[attempt.pk]))


@require_POST
@login_required
def goal_set(request: AuthedHtmxHttpRequest) -> HttpResponse:
    form = GoalForm(request.POST)
    error = ""
    try:
        if not form.is_valid():
            raise PracticeError("Enter the date as YYYY-MM-DD.")
        review_services.goal_set(
            user=request.user, interview_date=form.cleaned_data["interview_date"]
        )
    except PracticeError as exc:
        error = str(exc)
    if request.htmx:
        # The goal card swaps in place; the readiness table listens for goalChanged and reloads.
        context = {"goal_form": form, "goal_error": error, "goal_saved": not error}
        response = render(request, "learn/practice/review.html#goal-card", context)
        return response if error else trigger_client_event(response, "goalChanged")
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "Interview date saved.")
    return redirect("practice_review")


# Code challenges -----------------------------------------------------------------------------


@require_GET
@login_required
def challenge_list(request: AuthedHtmxHttpRequest) -> HttpResponse:
    context = {"challenges": selectors.challenge_list(user=request.user)}
    return render(request, "learn/practice/challenges.html", context)


@login_required
def challenge_page(request: AuthedHtmxHttpRequest, slug: str) -> HttpResponse:
    if request.method not in ("GET", "POST"):
        return HttpResponse(status=405)
    try:
        question = selectors.challenge_get(slug=slug)
    except Question.DoesNotExist:
        raise Http404("No such challenge.") from None
    version = question.current_version
    assert version is not None
    history = selectors.submission_history(user=request.user, question=question)
    # The language: chosen with ?runtime= (or the form), else that of the last submission.
    runtime = request.POST.get("runtime") or request.GET.get("runtime")
    if runtime not in ChallengeRuntime.values:
        runtime = history[0].runtime if history else ChallengeRuntime.PYTHON311
    code = selectors.last_code(user=request.user, question=question, runtime=runtime)
    earlier = _earlier_code(request, history)
    if earlier is not None:
        code, runtime = earlier.code, earlier.runtime
    if code is None:
        code = challenge_services.starter_code(version=version, runtime=runtime)
    submission: Submission | None = history[0] if history else None
    event_text = request.POST.get("event", "")
    error = ""
    if request.method == "POST":
        form = RunTestsForm(request.POST)
        own_event = request.POST.get("action") == "event"
        if form.is_valid():
            code = form.cleaned_data["code"]
            try:
                if own_event:
                    submission = challenge_services.event_run_create(
                        user=request.user,
                        version=version,
                        code=code,
                        event_text=form.cleaned_data["event"],
                        runtime=runtime,
                    )
                else:
                    submission = challenge_services.submission_create(
                        user=request.user, version=version, code=code, runtime=runtime
                    )
            except PracticeError as exc:
                error = str(exc)
        else:
            error = "Write some code before running it."
        if not request.htmx and not error and submission is not None:
            return redirect(f"{reverse('practice_challenge', args=[slug])}?runtime={runtime}")
    samples = selectors.sample_tests(version=version)
    context = {
        "question": question,
        "version": version,
        "samples": samples,
        "lab": selectors.lab_brief(version=version),
        "hidden_names": [
            t.name for t in version.tests.filter(sample=False).order_by("order").only("name")
        ],
        "code": code,
        "event_text": event_text or (_pretty_event(samples[0].event) if samples else "{}"),
        "runtime": runtime,
        "runtimes": ChallengeRuntime.choices,
        "submission": submission,
        "feedback": selectors.submission_feedback(submission=submission) if submission else [],
        "earlier_runs": [s for s in history if submission is None or s.pk != submission.pk],
        "error": error,
        "editor_vendored": _editor_vendored(),
        "limits": selectors.challenge_limits(user_id=request.user.pk),
    }
    if request.htmx:
        part = "history" if request.GET.get("partial") == "history" else "results"
        return render(request, f"learn/practice/challenge.html#{part}", context)
    return render(request, "learn/practice/challenge.html", context)


def _earlier_code(request: AuthedHtmxHttpRequest, history: list[Submission]) -> Submission | None:
    """The earlier run ?from= names, when it is one of the learner's own (in history)."""
    wanted = request.GET.get("from", "")
    return next((s for s in history if str(s.pk) == wanted), None)


def _pretty_event(event: Any) -> str:
    return json.dumps(event, indent=2, ensure_ascii=False)


@require_GET
@login_required
def submission_page(request: AuthedHtmxHttpRequest, submission_id: int) -> HttpResponse:
    try:
        submission = selectors.submission_get(user=request.user, submission_id=submission_id)
    except Submission.DoesNotExist:
        raise Http404("No such submission.") from None
    version = submission.version
    context = {
        "submission": submission,
        "version": version,
        "question": version.question,
        "feedback": selectors.submission_feedback(submission=submission),
    }
    response = render(request, "learn/practice/challenge.html#results", context)
    if submission.is_done:
        trigger_client_event(
            response,
            "submissionGraded",
            {"id": submission.pk, "status": submission.status, "grade": submission.grade},
        )
    return response
