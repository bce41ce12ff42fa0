from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "fenji.web.customers"
    label = "customers"
    verbose_name = "客户 / customers"
