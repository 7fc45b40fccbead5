from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from lambdalab.http import AuthedHtmxHttpRequest, HtmxHttpRequest
from learn.practice.selectors import progress_summary
from learn.selectors.lessons import (
    bookmark_list,
    lesson_continue,
    lesson_first_for_newcomer,
    module_list,
    note_list,
    progress_by_module,
)
from learn.selectors.progress import dashboard
from learn.study.selectors import profile_get


@require_GET
def landing(request: HtmxHttpRequest) -> HttpResponse:
    context = {
        "modules": module_list(),
        "continue_lesson": lesson_continue(user=request.user),
        "first_lesson": lesson_first_for_newcomer(user=request.user),
    }
    return render(request, "learn/landing.html", context)


@require_GET
@login_required
def progress_home(request: AuthedHtmxHttpRequest) -> HttpResponse:
    modules = progress_by_module(user=request.user)
    summary = progress_summary(user=request.user)
    board = dashboard(
        user=request.user,
        profile=profile_get(user=request.user),
        modules=modules,
        summary=summary,
    )
    context = {
        "modules": modules,
        "board": board,
        "module_rows": [(m, board.modules.get(m.module.pk)) for m in modules],
        "completed": sum(m.completed for m in modules),
        "total": sum(m.total for m in modules),
        "continue_lesson": lesson_continue(user=request.user),
        "bookmarks": bookmark_list(user=request.user),
        "notes": note_list(user=request.user),
        "summary": summary,
    }
    return render(request, "learn/progress.html", context)
