"""Customer pages: the list (with export) and a customer's own page."""

from fenji.web.customers import detail_urls, list_urls

app_name = "customers"
urlpatterns = [*list_urls.urlpatterns, *detail_urls.urlpatterns]
