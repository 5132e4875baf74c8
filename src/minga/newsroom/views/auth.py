"""Sign in (throttled), sign out, and joining through a one-time invitation."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib.auth import authenticate, login
from django.contrib.auth.views import LogoutView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from minga.exceptions import MingaError
from minga.newsroom import people, throttle
from minga.newsroom.models import Custody
from minga.newsroom.views.access import person_of


class LoginForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("User name"), max_length=150)
    password = forms.CharField(label=gettext_lazy("Password"), widget=forms.PasswordInput)


def _address(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", "unknown"))


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    error = ""
    locked = False
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        address = _address(request)
        try:
            throttle.check(username, address)
        except MingaError:
            locked = True
            error = _("Too many failed attempts. Wait 15 minutes and try again.")
        else:
            user = authenticate(request, username=username, password=form.cleaned_data["password"])
            if user is None:
                throttle.failed(username, address)
                error = _("That user name and password do not match.")
            else:
                throttle.succeeded(username, address)
                login(request, user)
                return redirect(request.GET.get("next") or "after-login")
    status = 429 if locked else 200
    return render(request, "newsroom/login.html", {"form": form, "error": error}, status=status)


def after_login(request: HttpRequest) -> HttpResponse:
    """Each role lands where its work is."""
    person = person_of(request)
    if person is None:
        return redirect("login") if not request.user.is_authenticated else redirect("admin:index")
    return redirect("desk" if person.at_desk else "reporter")


logout_view = LogoutView.as_view(next_page="login")


class JoinForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("User name"), max_length=150)
    password = forms.CharField(
        label=gettext_lazy("Password"), widget=forms.PasswordInput, min_length=10
    )
    key = forms.ChoiceField(
        label=gettext_lazy("Your key"),
        choices=Custody.choices,
        initial=Custody.CUSTODIAL,
        widget=forms.RadioSelect,
    )
    proof = forms.CharField(required=False, widget=forms.HiddenInput)
    bunker = forms.CharField(required=False, max_length=2000)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def join(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = people.open_invitation(token)
    except MingaError as exc:
        return render(
            request, "newsroom/forbidden.html", {"message": _(exc.message)}, status=exc.status
        )
    form = JoinForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        proof: dict[str, Any] | None = None
        if data["proof"]:
            try:
                proof = json.loads(data["proof"])
            except ValueError:
                proof = None
        try:
            person = people.accept(
                token, data["username"], data["password"], data["key"], proof, data["bunker"]
            )
        except MingaError as exc:
            error = exc.message
        else:
            login(request, person.user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("after-login")
    context = {
        "form": form,
        "invitation": invitation,
        "error": error,
        "challenge": people.proof_challenge(token),
        "proof_kind": people.PROOF_KIND,
    }
    return render(request, "newsroom/join.html", context)
