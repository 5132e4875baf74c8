from django.urls import path

from minga.publish import views

app_name = "publish"

urlpatterns = [
    path("newsletter/confirm/<str:token>/", views.confirm, name="newsletter-confirm"),
    path("newsletter/unsubscribe/<str:token>/", views.unsubscribe, name="newsletter-unsubscribe"),
]
