from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from lambdalab import views

urlpatterns = [
    path("", include("learn.urls")),
    path("", include("learn.study.urls")),
    # The Lambda API lives at the site root, as on AWS (/2015-03-31/functions/...).
    path("", include("sandbox.api.urls")),
    # The lab's AWS services for learners' own boto3 and AWS CLI (endpoint_url <site>/aws/).
    path("", include("sandbox.aws.urls")),
    path("sandbox/", include("sandbox.urls")),
    path("sandbox/", include("sandbox.triggers.urls")),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico on pages that do not link an icon (the admin's).
    path("favicon.ico", views.favicon),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    # Forgotten passwords: Django's own views; the mail goes to EMAIL_BACKEND (the console locally).
    path(
        "accounts/password/reset/",
        auth_views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("admin/", admin.site.urls),
]

handler400 = "lambdalab.views.bad_request"
handler403 = "lambdalab.views.permission_denied"
handler404 = "lambdalab.views.page_not_found"
handler500 = "lambdalab.views.server_error"
