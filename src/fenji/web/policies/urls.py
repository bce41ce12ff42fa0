"""Policy pages. Policy names are lower-case letters, digits and ``_``; the fixed pages use
hyphenated paths (``new-policy``, ``check-yaml``) so that no policy name can shadow them."""

from django.urls import URLPattern, URLResolver, path

from fenji.web.policies import views

app_name = "policies"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.policy_list, name="list"),
    path("new-policy/", views.policy_new, name="new"),
    path("check-yaml/", views.policy_check, name="check"),
    path("<slug:name>/", views.policy_detail, name="detail"),
    path("<slug:name>/v<int:version>/", views.policy_detail, name="version"),
    path("<slug:name>/edit/", views.policy_edit, name="edit"),
    path("<slug:name>/compare/", views.policy_compare, name="compare"),
    path("<slug:name>/v<int:version>/simulate/", views.policy_simulation, name="simulate"),
    path("<slug:name>/v<int:version>/publish/", views.policy_publish, name="publish"),
]
