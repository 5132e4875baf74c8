"""Who may open which page: the roster's roles, checked on every request."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from minga.exceptions import MingaError
from minga.newsroom.models import DESK_ROLES, Person, Role

View = Callable[..., HttpResponse]


def person_of(request: HttpRequest) -> Person | None:
    user = request.user
    if not user.is_authenticated or not user.is_active:
        return None
    person: Person | None = getattr(user, "person", None)
    return person if person is not None and person.active else None


def _guard(roles: tuple[str, ...] | None) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            person = person_of(request)
            if person is None:
                if request.headers.get("accept", "").startswith("application/json"):
                    return JsonResponse({"error": _("Sign in again.")}, status=401)
                return redirect_to_login(request.get_full_path())
            if roles is not None and person.role not in roles:
                return render(
                    request,
                    "newsroom/forbidden.html",
                    {"message": _("This page is for the desk.")},
                    status=403,
                )
            request.person = person
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


member_required = _guard(None)
desk_required = _guard(tuple(DESK_ROLES))
admin_required = _guard((Role.ADMIN,))


def json_errors(view: View) -> View:
    """MingaErrors of a JSON endpoint as {"error": message} with their status."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except MingaError as exc:
            return JsonResponse({"error": exc.message}, status=exc.status)

    return wrapper
