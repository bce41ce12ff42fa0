from django.apps import AppConfig


class FactsConfig(AppConfig):
    name = "fenji.web.facts"
    label = "facts"
    verbose_name = "事实 / facts"
