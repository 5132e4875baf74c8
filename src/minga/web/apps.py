from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "minga.web"
    label = "web"
    verbose_name = "Web"
