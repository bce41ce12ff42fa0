"""Routes of the runs pages (namespace ``evaluations``, mounted at the site root)."""

from django.urls import URLPattern, URLResolver, path

from fenji.web.evaluations import run_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("runs/", run_views.run_list, name="runs"),
    path("runs/start/", run_views.run_start, name="run_start"),
    path("runs/launch/<str:key>/", run_views.run_launch, name="run_launch"),
    path("runs/launch/<str:key>/status/", run_views.run_launch_status, name="run_launch_status"),
    path("runs/<int:run_id>/", run_views.run_detail, name="run_detail"),
    path("runs/<int:run_id>/progress/", run_views.run_progress, name="run_progress"),
]
