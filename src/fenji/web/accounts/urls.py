from django.urls import path

from fenji.web.accounts import audit_views, token_views, views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("tokens/", token_views.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", token_views.token_revoke_view, name="token_revoke"),
    path("audit/", audit_views.audit, name="audit"),
    path("audit/export.csv", audit_views.audit_export, name="audit_export"),
]
