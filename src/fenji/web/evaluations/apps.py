from django.apps import AppConfig


class EvaluationsConfig(AppConfig):
    name = "fenji.web.evaluations"
    label = "evaluations"
    verbose_name = "评估批次 / evaluation runs"
