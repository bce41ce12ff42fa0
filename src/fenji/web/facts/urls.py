from django.urls import URLPattern, URLResolver

app_name = "facts"
urlpatterns: list[URLPattern | URLResolver] = []
