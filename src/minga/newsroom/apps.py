from django.apps import AppConfig


class NewsroomConfig(AppConfig):
    name = "minga.newsroom"
    label = "newsroom"
    verbose_name = "Newsroom"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from minga.newsroom.workflow import intake
        from minga.store.ingest import add_listener

        # Whatever stores events (relay, web, import) files them with the desk.
        add_listener(intake)
