from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "fenji.web.accounts"
    label = "accounts"
    verbose_name = "账户与审计 / accounts and audit"
