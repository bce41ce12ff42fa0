"""The customer list (``customers:list``) and its export (``customers:export``, csv or xlsx)."""

from django.urls import URLPattern, URLResolver, path

from fenji.web.customers import list_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", list_views.customer_list_view, name="list"),
    path("export.<str:fmt>", list_views.customer_export_view, name="export"),
]
