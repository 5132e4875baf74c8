from django.contrib import admin
from django.urls import include, path

from minga.web import views

admin.site.site_header = "minga"
admin.site.site_title = "minga"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.health, name="health"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("minga.publish.urls")),
    path("", include("minga.newsroom.urls")),
    path("", include("minga.sync.urls")),
]
