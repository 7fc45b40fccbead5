from django.urls import path

from learn.study import views

urlpatterns = [
    path("study/", views.study_home, name="study"),
    path("study/start/", views.study_start, name="study_start"),
    path("study/<int:session_id>/", views.session_page, name="study_session"),
    path("study/<int:session_id>/open/", views.step_open, name="study_step_open"),
    path("study/<int:session_id>/advance/", views.step_advance, name="study_advance"),
    path("study/<int:session_id>/pause/", views.session_pause, name="study_pause"),
    path("study/<int:session_id>/resume/", views.session_resume, name="study_resume"),
    path("study/<int:session_id>/heartbeat/", views.session_heartbeat, name="study_heartbeat"),
    path("study/<int:session_id>/end/", views.session_end, name="study_end"),
    path("accounts/settings/", views.account_settings, name="account_settings"),
    path("accounts/export/", views.account_export, name="account_export"),
    path("accounts/delete/", views.account_delete, name="account_delete"),
]
