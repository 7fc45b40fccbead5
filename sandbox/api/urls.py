"""The Lambda API's paths, at the site root as on AWS, and the access-key pages."""

from django.urls import path, re_path

from sandbox.api import event_sources, function_urls, pages, views

app_name = "sandbox_api"
_FN = r"(?P<name>[^/]+)"
urlpatterns = [
    re_path(r"^2015-03-31/functions/?$", views.functions_view, name="functions"),
    re_path(rf"^2015-03-31/functions/{_FN}/?$", views.function_view, name="function"),
    re_path(
        rf"^2015-03-31/functions/{_FN}/configuration/?$",
        views.configuration_view,
        name="configuration",
    ),
    re_path(rf"^2015-03-31/functions/{_FN}/code/?$", views.code_view, name="function_code"),
    re_path(rf"^2015-03-31/functions/{_FN}/invocations/?$", views.invocations_view, name="invoke"),
    re_path(rf"^2015-03-31/functions/{_FN}/versions/?$", views.versions_view, name="versions"),
    re_path(rf"^2015-03-31/functions/{_FN}/aliases/?$", views.aliases_view, name="aliases"),
    re_path(
        rf"^2015-03-31/functions/{_FN}/aliases/(?P<alias_name>[^/]+)/?$",
        views.alias_view,
        name="alias",
    ),
    re_path(
        rf"^2017-10-31/functions/{_FN}/concurrency/?$",
        views.put_concurrency_view,
        name="put_concurrency",
    ),
    re_path(
        rf"^2019-09-30/functions/{_FN}/concurrency/?$",
        views.get_concurrency_view,
        name="get_concurrency",
    ),
    re_path(
        r"^2015-03-31/event-source-mappings/?$",
        event_sources.mappings_view,
        name="event_source_mappings",
    ),
    re_path(
        r"^2015-03-31/event-source-mappings/(?P<mapping_uuid>[^/]+)/?$",
        event_sources.mapping_view,
        name="event_source_mapping",
    ),
    re_path(
        rf"^2019-09-25/functions/{_FN}/event-invoke-config/?$",
        views.event_config_view,
        name="event_invoke_config",
    ),
    re_path(
        rf"^2019-09-25/functions/{_FN}/event-invoke-config/list/?$",
        views.event_config_list_view,
        name="event_invoke_configs",
    ),
    re_path(
        rf"^2019-09-30/functions/{_FN}/provisioned-concurrency/?$",
        views.provisioned_view,
        name="provisioned_concurrency",
    ),
    re_path(rf"^2021-10-31/functions/{_FN}/url/?$", views.function_url_view, name="function_url"),
    re_path(
        rf"^2021-10-31/functions/{_FN}/urls/?$", views.function_urls_view, name="function_urls"
    ),
    re_path(rf"^2015-03-31/functions/{_FN}/policy/?$", views.policy_view, name="policy"),
    re_path(
        rf"^2015-03-31/functions/{_FN}/policy/(?P<sid>[^/]+)/?$",
        views.policy_statement_view,
        name="policy_statement",
    ),
    # Not an AWS path: function URLs are served here, not at <url-id>.lambda-url.<region>.on.aws.
    re_path(
        r"^lambda-url/(?P<url_id>[a-z0-9]{32})(?P<path>/.*)?$",
        function_urls.serve,
        name="function_url_serve",
    ),
    re_path(r"^2016-08-19/account-settings/?$", views.account_settings_view, name="account"),
    # Not an AWS path: where GetFunction's Code.Location points (a signed, expiring URL).
    path("2015-03-31/code/<str:token>", views.code_download, name="code"),
    path("accounts/keys/", pages.access_keys_page, name="access_keys"),
    path("accounts/keys/<int:pk>/revoke/", pages.access_key_revoke, name="access_key_revoke"),
]
