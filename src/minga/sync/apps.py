from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "minga.sync"
    label = "sync"
    verbose_name = "Replication"
    default_auto_field = "django.db.models.BigAutoField"
