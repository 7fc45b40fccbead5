from django.urls import path, re_path

from sandbox.aws import views

app_name = "sandbox_aws"
_NAME = "<str:name>"
urlpatterns = [
    # Every path under /aws/ is an AWS request (S3 puts the bucket and key in the path).
    re_path(r"^aws(?P<rest>/.*)?$", views.endpoint, name="endpoint"),
    path("resources/", views.resources_page, name="resources"),
    path("resources/buckets/", views.bucket_create_view, name="bucket_create"),
    path("resources/tables/", views.table_create_view, name="table_create"),
    path("resources/queues/", views.queue_create_view, name="queue_create"),
    path("resources/topics/", views.topic_create_view, name="topic_create"),
    path("resources/roles/", views.role_create_view, name="role_create"),
    path(f"resources/buckets/{_NAME}/", views.bucket_page, name="bucket"),
    path(f"resources/buckets/{_NAME}/upload/", views.object_upload_view, name="object_upload"),
    path(f"resources/buckets/{_NAME}/object/", views.object_download_view, name="object"),
    path(f"resources/buckets/{_NAME}/delete/", views.object_delete_view, name="object_delete"),
    path(f"resources/tables/{_NAME}/", views.table_page, name="table"),
    path(f"resources/tables/{_NAME}/items/", views.item_put_view, name="item_put"),
    path(f"resources/tables/{_NAME}/delete/", views.item_delete_view, name="item_delete"),
    path(f"resources/queues/{_NAME}/", views.queue_page, name="queue"),
    path(f"resources/queues/{_NAME}/send/", views.message_send_view, name="message_send"),
    path(f"resources/queues/{_NAME}/redrive/", views.queue_redrive_view, name="queue_redrive"),
    path(f"resources/queues/{_NAME}/purge/", views.queue_purge_view, name="queue_purge"),
    path(f"resources/topics/{_NAME}/publish/", views.topic_publish_view, name="topic_publish"),
    path(f"resources/roles/{_NAME}/", views.role_page, name="role"),
    path(f"resources/roles/{_NAME}/template/", views.role_template_view, name="role_template"),
    path(f"resources/roles/{_NAME}/policy/", views.role_policy_view, name="role_policy"),
    path(
        f"resources/roles/{_NAME}/policy/delete/",
        views.role_policy_delete_view,
        name="role_policy_delete",
    ),
    path(f"resources/roles/{_NAME}/assign/", views.role_assign_view, name="role_assign"),
]
