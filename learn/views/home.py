from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from lambdalab.permissions import instructor_required
from learn.selectors.lessons import module_list


@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "learn/landing.html", {"modules": module_list()})


@require_GET
def lessons_home(request: HttpRequest) -> HttpResponse:
    return render(request, "learn/lessons.html", {"modules": module_list()})


@require_GET
@login_required
def quiz_home(request: HttpRequest) -> HttpResponse:
    return render(request, "learn/quiz.html")


@require_GET
@login_required
def progress_home(request: HttpRequest) -> HttpResponse:
    return render(request, "learn/progress.html")


@require_GET
@instructor_required
def instructor_home(request: HttpRequest) -> HttpResponse:
    return render(request, "learn/instructor.html")
