from django.urls import path

from minga.newsroom.views import auth, desk, people, reporter

urlpatterns = [
    path("login/", auth.login_view, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("welcome/", auth.after_login, name="after-login"),
    path("join/<str:token>/", auth.join, name="join"),
    path("r/", reporter.app, name="reporter"),
    path("r/file", reporter.file_item, name="reporter-file"),
    path("r/signed", reporter.publish_signed, name="reporter-signed"),
    path("r/media/<str:media_id>", reporter.media_status, name="reporter-media"),
    path("r/preview", reporter.preview, name="reporter-preview"),
    path("r/items", reporter.my_items, name="reporter-items"),
    path("r/sw.js", reporter.service_worker, name="reporter-sw"),
    path("r/manifest.webmanifest", reporter.manifest, name="reporter-manifest"),
    path("r/exit", reporter.quick_exit, name="reporter-exit"),
    path("desk/", desk.desk, name="desk"),
    path("desk/stream", desk.stream, name="desk-stream"),
    path("desk/story/<int:pk>/", desk.story, name="desk-story"),
    path("desk/story/<int:pk>/<str:action>", desk.act, name="desk-act"),
    path(
        "desk/story/<int:pk>/delivery/<int:delivery_id>/<str:action>",
        desk.delivery,
        name="desk-delivery",
    ),
    path("people/", people.people_page, name="people"),
    path("people/<int:pk>/<str:action>", people.person_action, name="people-act"),
]
