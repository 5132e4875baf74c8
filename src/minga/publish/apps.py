from django.apps import AppConfig


class PublishConfig(AppConfig):
    name = "minga.publish"
    label = "publish"
    verbose_name = "Publishing"
    default_auto_field = "django.db.models.BigAutoField"
