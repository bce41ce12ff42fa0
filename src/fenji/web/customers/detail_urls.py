"""Routes of a customer's page. External ids come from the company's systems and may hold
any character but '/' (hyphens, Chinese), hence the ``str`` converter."""

from django.urls import URLPattern, URLResolver, path

from fenji.web.customers import detail_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("<str:external_id>/", views.customer_detail, name="detail"),
    path(
        "<str:external_id>/orders/",
        views.customer_list_part,
        {"part": "orders"},
        name="detail_orders",
    ),
    path(
        "<str:external_id>/receivables/",
        views.customer_list_part,
        {"part": "receivables"},
        name="detail_receivables",
    ),
    path(
        "<str:external_id>/followups/",
        views.customer_list_part,
        {"part": "followups"},
        name="detail_followups",
    ),
    path("<str:external_id>/followups/add/", views.followup_add, name="followup_add"),
    path("<str:external_id>/overrides/form/", views.override_form, name="override_form"),
    path("<str:external_id>/overrides/add/", views.override_add, name="override_add"),
    path(
        "<str:external_id>/overrides/<int:override_id>/revoke/",
        views.override_revoke_view,
        name="override_revoke",
    ),
]
