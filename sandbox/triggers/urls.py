from django.urls import path

from sandbox.triggers import views

app_name = "sandbox_triggers"
urlpatterns = [
    path("<int:pk>/triggers/", views.function_triggers_page, name="function_triggers"),
    path("<int:pk>/triggers/remove/", views.trigger_remove, name="trigger_remove"),
]
