"""Routes of the imports pages (namespace ``facts``, mounted at ``imports/``).

An upload is named by its random token alone (``slug``: letters, digits, - and _), so no
request can name a path of its own."""

from django.urls import URLPattern, URLResolver, path

from fenji.web.facts import views

app_name = "facts"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.imports, name="imports"),
    path("<slug:token>/", views.import_detail, name="import_detail"),
    path("<slug:token>/import/", views.import_confirm, name="import_confirm"),
    path("<slug:token>/errors/", views.import_errors, name="import_errors"),
]
