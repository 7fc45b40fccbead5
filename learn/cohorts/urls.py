from django.urls import path

from learn.cohorts import views

app_name = "cohorts"
urlpatterns = [
    path("", views.cohort_list_page, name="list"),
    path("<int:pk>/", views.cohort_detail_page, name="detail"),
    path("<int:pk>/code/", views.cohort_code_regenerate, name="code_regenerate"),
    path("<int:pk>/members/<int:user_id>/remove/", views.member_remove, name="member_remove"),
    path("<int:pk>/assignments/", views.assignment_add, name="assignment_add"),
    path(
        "<int:pk>/assignments/<int:assignment_id>/delete/",
        views.assignment_delete,
        name="assignment_delete",
    ),
    path("<int:pk>/quota/", views.quota_save, name="quota_save"),
    path("<int:pk>/learners/", views.learners_page, name="learners"),
    path("<int:pk>/learners/<int:user_id>/", views.learner_page, name="learner"),
    path("<int:pk>/questions/", views.question_stats_page, name="question_stats"),
]

join_urlpatterns = [
    path("", views.join_page, name="join"),
    path("<str:code>/", views.join_page, name="join_code"),
]

bank_urlpatterns = [
    path("import/", views.bank_import_page, name="bank_import"),
    path("export.gift", views.bank_export_gift, name="bank_export_gift"),
]

sandbox_urlpatterns = [
    path("", views.sandbox_page, name="sandbox_oversight"),
    path("invocations/<int:invocation_id>/stop/", views.invocation_stop, name="invocation_stop"),
    path(
        "functions/<int:function_id>/retire/",
        views.environments_retire,
        name="environments_retire",
    ),
]

question_urlpatterns = [
    path("", views.question_list_page, name="question_list"),
    path("<slug:slug>/", views.question_edit_page, name="question_edit"),
    path("<slug:slug>/preview/", views.question_preview, name="question_preview"),
    path("<slug:slug>/publish/", views.question_publish, name="question_publish"),
    path("<slug:slug>/history/", views.question_history_page, name="question_history"),
]
