from django.urls import re_path

from sandbox.aws import views

app_name = "sandbox_aws"
urlpatterns = [
    # Every path under /aws/ is an AWS request (S3 puts the bucket and key in the path).
    re_path(r"^aws(?P<rest>/.*)?$", views.endpoint, name="endpoint"),
]
