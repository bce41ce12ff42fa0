from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "fenji.web.policies"
    label = "policies"
    verbose_name = "评估标准 / policies"
