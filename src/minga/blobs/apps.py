from django.apps import AppConfig


class BlobsConfig(AppConfig):
    name = "minga.blobs"
    label = "blobs"
    verbose_name = "Blobs"
    default_auto_field = "django.db.models.BigAutoField"
