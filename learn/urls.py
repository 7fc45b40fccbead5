from django.urls import include, path

from learn.cohorts.urls import (
    bank_urlpatterns,
    join_urlpatterns,
    question_urlpatterns,
    sandbox_urlpatterns,
)
from learn.views import home, instructor, lessons, search

urlpatterns = [
    path("", home.landing, name="home"),
    path("lessons/", lessons.lesson_list, name="lessons"),
    path("lessons/<slug:slug>/", lessons.lesson_detail, name="lesson_detail"),
    path("lessons/<slug:slug>/complete/", lessons.lesson_complete, name="lesson_complete"),
    path("lessons/<slug:slug>/bookmark/", lessons.lesson_bookmark, name="lesson_bookmark"),
    path("lessons/<slug:slug>/note/", lessons.lesson_note, name="lesson_note"),
    path("lessons/<slug:slug>/try/", lessons.lesson_try_it, name="lesson_try_it"),
    path("lessons/<slug:slug>/lab/run/", lessons.lesson_lab_run, name="lesson_lab_run"),
    path("lessons/<slug:slug>/lab/reset/", lessons.lesson_lab_reset, name="lesson_lab_reset"),
    path("search/", search.search_page, name="search"),
    path("quiz/", include("learn.practice.urls")),
    path("progress/", home.progress_home, name="progress"),
    path("instructor/", instructor.instructor_home, name="instructor"),
    path("instructor/cohorts/", include("learn.cohorts.urls")),
    path("instructor/bank/", include(bank_urlpatterns)),
    path("instructor/sandbox/", include(sandbox_urlpatterns)),
    path("instructor/questions/", include(question_urlpatterns)),
    path("join/", include(join_urlpatterns)),
    path("instructor/lessons/preview/", instructor.lesson_preview, name="lesson_preview"),
    path("instructor/lessons/export/", instructor.lessons_export, name="lessons_export"),
    path("instructor/lessons/order/", instructor.course_order_page, name="course_order"),
    path("instructor/lessons/<slug:slug>/export/", instructor.lesson_export, name="lesson_export"),
    path("instructor/lessons/<slug:slug>/edit/", instructor.lesson_edit_page, name="lesson_edit"),
    path(
        "instructor/lessons/<slug:slug>/edit/preview/",
        instructor.lesson_edit_preview,
        name="lesson_edit_preview",
    ),
    path(
        "instructor/lessons/<slug:slug>/edit/run/",
        instructor.lesson_try_it_run,
        name="lesson_try_it_run",
    ),
]
