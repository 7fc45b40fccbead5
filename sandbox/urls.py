from django.urls import path

from sandbox import views

app_name = "sandbox"
urlpatterns = [
    path("", views.function_list_page, name="home"),
    path("all/", views.function_list_all_page, name="all_functions"),
    path("new/", views.function_create_page, name="function_create"),
    path("<int:pk>/", views.function_detail_page, name="function_detail"),
    path("<int:pk>/code/", views.code_save, name="code_save"),
    path("<int:pk>/code/upload/", views.code_upload, name="code_upload"),
    path("<int:pk>/code/download/", views.code_download, name="code_download"),
    path("<int:pk>/files/", views.file_create, name="file_create"),
    path("<int:pk>/files/rename/", views.file_rename, name="file_rename"),
    path("<int:pk>/files/delete/", views.file_delete, name="file_delete"),
    path("<int:pk>/invoke/", views.invoke, name="invoke"),
    path("<int:pk>/events/", views.event_save, name="event_save"),
    path("<int:pk>/events/delete/", views.event_delete, name="event_delete"),
    path("<int:pk>/cold-start/", views.force_cold_start, name="force_cold_start"),
    path("<int:pk>/delete/", views.function_delete, name="function_delete"),
    path("<int:pk>/configuration/", views.function_config_page, name="function_config"),
    path("<int:pk>/invocations/", views.invocation_list_page, name="invocation_list"),
    path(
        "<int:pk>/invocations/<int:invocation_pk>/",
        views.invocation_detail_page,
        name="invocation_detail",
    ),
    path("<int:pk>/concurrency/", views.concurrency_lab_page, name="concurrency_lab"),
    path(
        "<int:pk>/concurrency/settings/",
        views.concurrency_settings,
        name="concurrency_settings",
    ),
    path("<int:pk>/memory-tuning/", views.memory_tuning_page, name="memory_tuning"),
]
