"""Dashboard and run pages (two modules: the dashboard's and the runs')."""

from fenji.web.evaluations import dashboard_urls, run_urls

app_name = "evaluations"
urlpatterns = [*dashboard_urls.urlpatterns, *run_urls.urlpatterns]
