"""Sending mail through the outlet's SMTP server (``smtp_url``).

``smtp://user@host:587`` speaks plain SMTP and upgrades with STARTTLS whenever
the server offers it (and refuses to send a password over a link that did
not); ``smtps://user@host:465`` is TLS from the first byte. The password is
the credential ``smtp_password``, never a setting.

Failures are sorted as for HTTP: before the message was handed over
(connection, sender, recipient) nothing went out; a link that dies after the
message's last line was sent may have delivered it (:class:`Unclear`).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from types import TracebackType
from urllib.parse import unquote, urlsplit

from django.conf import settings

from minga.exceptions import ConfigError, PublishError, RetryLater
from minga.keys.secrets import credential

TIMEOUT = 30.0


class Refused(PublishError):
    """The server refused this one recipient for good (a 5xx to RCPT or DATA)."""


class Unclear(PublishError):
    """The link died while the message was being handed over: it may be delivered."""


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    tls: bool  # smtps: TLS from the start
    user: str = ""
    password: str = ""

    @classmethod
    def parse(cls, url: str, password: str = "") -> Server:
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ConfigError(f"smtp_url must be smtp://user@host:port or smtps://…, not {url!r}")
        try:
            port = parts.port or (465 if parts.scheme == "smtps" else 587)
        except ValueError as exc:
            raise ConfigError(f"smtp_url has a bad port: {url!r}") from exc
        user = unquote(parts.username or "")
        if parts.password:
            raise ConfigError(
                "smtp_url must not hold the password: use the credential smtp_password"
            )
        return cls(parts.hostname, port, parts.scheme == "smtps", user, password)

    @classmethod
    def configured(cls) -> Server | None:
        if not settings.MINGA.smtp_url or not settings.MINGA.newsletter_from:
            return None
        password = credential("smtp_password", settings.MINGA.data_path) or ""
        server = cls.parse(settings.MINGA.smtp_url, password)
        if server.user and not password:
            return None  # a user without a password: not configured yet
        return server


class Connection:
    """One SMTP session: ``with Connection(server) as smtp: smtp.send(message)``."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Connection:
        context = ssl.create_default_context()
        where = f"{self.server.host}:{self.server.port}"
        try:
            if self.server.tls:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.server.host, self.server.port, timeout=TIMEOUT, context=context
                )
            else:
                smtp = smtplib.SMTP(self.server.host, self.server.port, timeout=TIMEOUT)
            try:
                smtp.ehlo()
                if not self.server.tls and smtp.has_extn("starttls"):
                    smtp.starttls(context=context)
                    smtp.ehlo()
                    secure = True
                else:
                    secure = self.server.tls
                if self.server.user:
                    if not secure:
                        raise PublishError(
                            f"smtp: {where} offers no TLS: the password is not sent in clear"
                        )
                    smtp.login(self.server.user, self.server.password)
            except BaseException:
                smtp.close()
                raise
        except smtplib.SMTPAuthenticationError as exc:
            raise PublishError(f"smtp: {where} refused the login (smtp_password): {exc}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise RetryLater(f"smtp: cannot open a session with {where}: {exc}") from exc
        self._smtp = smtp
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def send(self, message: EmailMessage) -> None:
        """Hand one message over; raise :class:`Refused`, :class:`Unclear` or
        :class:`~minga.exceptions.RetryLater` (nothing went out)."""
        smtp = self._smtp
        assert smtp is not None, "use the connection in a with block"
        sender = str(message["From"].addresses[0].addr_spec)
        recipient = str(message["To"].addresses[0].addr_spec)
        try:
            code, reply = smtp.mail(sender)
            if code != 250:
                smtp.rset()
                raise _refusal(code, reply, "sender", PublishError)
            code, reply = smtp.rcpt(recipient)
            if code not in {250, 251}:
                smtp.rset()
                raise _refusal(code, reply, recipient, Refused)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise RetryLater(f"smtp: the link died before the message was sent: {exc}") from exc
        try:
            code, reply = smtp.data(message.as_bytes(policy=SMTP))  # CRLF line ends
        except smtplib.SMTPDataError as exc:  # refused before the message was taken
            raise _refusal(exc.smtp_code, exc.smtp_error, recipient, Refused) from exc
        except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as exc:
            raise Unclear(f"smtp: the link died while sending to {recipient}: {exc}") from exc
        if code != 250:
            raise _refusal(code, reply, recipient, Refused)


def _refusal(code: int, reply: bytes | str, whom: str, final: type[PublishError]) -> PublishError:
    said = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
    text = f"smtp: {code} {said[:300]} ({whom})"
    return RetryLater(text) if 400 <= code < 500 else final(text)
