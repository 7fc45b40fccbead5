from django.urls import path

from learn.views import home

urlpatterns = [
    path("", home.landing, name="home"),
    path("lessons/", home.lessons_home, name="lessons"),
    path("quiz/", home.quiz_home, name="quiz"),
    path("progress/", home.progress_home, name="progress"),
    path("instructor/", home.instructor_home, name="instructor"),
]
