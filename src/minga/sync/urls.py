from django.urls import path

from minga.sync import paths
from minga.sync.bundle import views as bundle_views

urlpatterns = [
    path("desk/paths/", paths.paths, name="desk-paths"),
    path("desk/bundles/", bundle_views.bundles, name="desk-bundles"),
]
