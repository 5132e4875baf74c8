"""People of the collective (admins): invitations, roles, deactivation."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from minga.exceptions import MingaError
from minga.keys.nip19 import npub_encode
from minga.newsroom import people
from minga.newsroom.models import Invitation, Person, Role
from minga.newsroom.views.access import admin_required


class InviteForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    role = forms.ChoiceField(
        label=gettext_lazy("Role"), choices=Role.choices, initial=Role.REPORTER
    )


@require_http_methods(["GET", "POST"])
@admin_required
def people_page(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST or None)
    link = ""
    if request.method == "POST" and form.is_valid():
        try:
            _invitation, token = people.invite(
                request.user, form.cleaned_data["name"], form.cleaned_data["role"]
            )
        except MingaError as exc:
            messages.error(request, _(exc.message))
        else:
            link = request.build_absolute_uri(f"/join/{token}/")
            form = InviteForm()
    persons = [
        {"person": p, "npub": npub_encode(p.pubkey)} for p in Person.objects.select_related("user")
    ]
    pending = Invitation.objects.filter(used_at__isnull=True).order_by("-created")[:20]
    context = {
        "form": form,
        "link": link,
        "persons": persons,
        "pending": pending,
        "roles": Role.choices,
    }
    return render(request, "newsroom/people.html", context)


@require_POST
@admin_required
def person_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    person = get_object_or_404(Person, pk=pk)
    try:
        if action == "role":
            people.set_role(person, request.POST.get("role", ""), request.user)
        elif action == "deactivate":
            if person.user_id == request.user.pk:
                raise MingaError(_("You cannot take yourself off the roster."))
            people.deactivate(person, request.user, reason=request.POST.get("reason", "")[:200])
            messages.success(
                request,
                _("%(name)s is off the roster; their key is revoked.") % {"name": person.name},
            )
    except MingaError as exc:
        messages.error(request, _(exc.message))
    return redirect("people")
