"""The newsletter's pages: confirm a subscription, unsubscribe.

A link in a mail opens a page with one button (a GET changes nothing: mail
scanners follow links); the button posts. Unsubscribing also takes the
RFC 8058 one-click POST a mail provider sends on the reader's behalf, which
carries no CSRF token, so that view is exempt: it needs the reader's secret
token and can only remove that reader.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from minga.exceptions import NotFound
from minga.publish import newsletter
from minga.publish.models import Subscriber


def _done(request: HttpRequest, heading: str, message: str, status: int = 200) -> HttpResponse:
    context = {"heading": heading, "message": message}
    response = render(request, "publish/newsletter_done.html", context, status=status)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    return response


@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    reader = Subscriber.objects.filter(token=token).first()
    if reader is None:
        return _done(request, _("Link not valid"), _("This link is not valid any more."), 404)
    if request.method == "POST":
        try:
            newsletter.confirm(token)
        except NotFound:
            return _done(request, _("Link not valid"), _("This link is not valid any more."), 404)
        return _done(
            request, _("Subscribed"), _("Thank you: the newsletter will come to this address.")
        )
    if reader.confirmed is not None:
        return _done(request, _("Subscribed"), _("This address is already subscribed."))
    response = render(request, "publish/newsletter_confirm.html", {"reader": reader})
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "POST":
        newsletter.unsubscribe(token)
        return _done(
            request, _("Unsubscribed"), _("This address will not get the newsletter any more.")
        )
    reader = Subscriber.objects.filter(token=token).first()
    if reader is None:
        return _done(request, _("Unsubscribed"), _("This address is not subscribed."))
    response = render(request, "publish/newsletter_unsubscribe.html", {"reader": reader})
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
