"""The dashboard: one page, per policy and dimension (``?policy=&dimension=``)."""

from django.urls import URLPattern, URLResolver, path

from fenji.web.evaluations import dashboard_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
]
