"""The Django project: settings, pages, admin, and the ASGI entry."""
