from django.apps import AppConfig


class StoreConfig(AppConfig):
    name = "minga.store"
    label = "store"
    verbose_name = "Event store"
    default_auto_field = "django.db.models.BigAutoField"
