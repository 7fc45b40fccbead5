from django.urls import path

from learn.practice import views

urlpatterns = [
    path("", views.home, name="quiz"),
    path("start/", views.quiz_start, name="practice_quiz_start"),
    path("mock/start/", views.mock_start, name="practice_mock_start"),
    path("review/", views.review_home, name="practice_review"),
    path("review/start/", views.review_start, name="practice_review_start"),
    path("goal/", views.goal_set, name="practice_goal"),
    path("attempts/<int:attempt_id>/", views.attempt_page, name="practice_attempt"),
    path("attempts/<int:attempt_id>/answer/", views.answer, name="practice_answer"),
    path(
        "attempts/<int:attempt_id>/answers/<int:answer_id>/self-grade/",
        views.self_grade,
        name="practice_self_grade",
    ),
    path(
        "attempts/<int:attempt_id>/answers/<int:answer_id>/rate/",
        views.rate,
        name="practice_rate",
    ),
    path("attempts/<int:attempt_id>/undo/", views.review_undo, name="practice_review_undo"),
    path(
        "attempts/<int:attempt_id>/summary/", views.review_summary, name="practice_review_summary"
    ),
    path("attempts/<int:attempt_id>/pause/", views.pause, name="practice_pause"),
    path("attempts/<int:attempt_id>/resume/", views.resume, name="practice_resume"),
    path("attempts/<int:attempt_id>/finish/", views.finish, name="practice_finish"),
    path("attempts/<int:attempt_id>/results/", views.results, name="practice_results"),
    path("questions/<slug:slug>/", views.question_page, name="practice_question"),
    path("challenges/", views.challenge_list, name="practice_challenges"),
    path("challenges/<slug:slug>/", views.challenge_page, name="practice_challenge"),
    path("submissions/<int:submission_id>/", views.submission_page, name="practice_submission"),
]
