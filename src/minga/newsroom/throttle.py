"""Slowing down password guessing: per account and address, per address alone."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from minga.exceptions import RateLimited
from minga.newsroom.models import LoginFailure

WINDOW = timedelta(minutes=15)
PER_ACCOUNT = 5  # failures for one user name from one address
PER_ADDRESS = 20  # failures from one address, whatever the user name


def _keys(username: str, address: str) -> tuple[str, str]:
    return f"user:{username.strip().lower()}|{address}", f"addr:{address}"


def check(username: str, address: str) -> None:
    """Raise RateLimited while this account or address is locked out."""
    account, addr = _keys(username, address)
    since = timezone.now() - WINDOW
    if (
        LoginFailure.objects.filter(key=account, at__gte=since).count() >= PER_ACCOUNT
        or LoginFailure.objects.filter(key=addr, at__gte=since).count() >= PER_ADDRESS
    ):
        raise RateLimited(_("too many failed sign-ins: wait 15 minutes and try again"))


def failed(username: str, address: str) -> None:
    now = timezone.now()
    LoginFailure.objects.bulk_create(
        [LoginFailure(key=key, at=now) for key in _keys(username, address)]
    )
    LoginFailure.objects.filter(at__lt=now - WINDOW * 4).delete()


def succeeded(username: str, address: str) -> None:
    LoginFailure.objects.filter(key=_keys(username, address)[0]).delete()
