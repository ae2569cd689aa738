"""Sending e-mail: one small interface, a log-only sender (default) and an SMTP sender.

Without ``PB_SMTP_URL`` messages go to the log (and stay in memory for the developer to read), so
a demo or a test never sends real mail. With it, mail goes out through the standard library's
``smtplib`` in a worker thread. URL forms: ``smtp://host[:25]`` (plain), ``smtp+starttls://host[:587]``,
``smtps://host[:465]`` (TLS from the start); ``user:password@`` before the host logs in.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections import deque
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

import anyio.to_thread

from pb.errors import ConfigError
from pb.settings import Settings

__all__ = ["Email", "EmailSender", "LogEmailSender", "SmtpEmailSender", "make_email_sender"]

logger = logging.getLogger("pb.notify")

_DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
SMTP_TIMEOUT_SECONDS = 20


@dataclass(frozen=True)
class Email:
    """A plain-text message to one recipient."""

    to: str
    subject: str
    body: str


@runtime_checkable
class EmailSender(Protocol):
    async def send(self, email: Email) -> None:
        """Deliver ``email`` or raise."""
        ...


class LogEmailSender:
    """Writes each message to the log; keeps the most recent ones in ``sent``."""

    def __init__(self, *, keep: int = 100) -> None:
        self.sent: deque[Email] = deque(maxlen=keep)

    async def send(self, email: Email) -> None:
        self.sent.append(email)
        logger.info("e-mail to %s: %s\n%s", email.to, email.subject, email.body)


@dataclass(frozen=True)
class SmtpConfig:
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpConfig:
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ConfigError("PB_SMTP_URL must look like smtp://[user:password@]host[:port]")
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise ConfigError("PB_SMTP_URL has an invalid port") from None
    return SmtpConfig(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


class SmtpEmailSender:
    """Sends through an SMTP server; each message opens its own connection."""

    def __init__(self, smtp_url: str, *, sender: str) -> None:
        self.config = parse_smtp_url(smtp_url)
        self.sender = sender

    def build(self, email: Email) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = email.to
        message["Subject"] = email.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.sender.rsplit("@", 1)[-1])
        message.set_content(email.body)
        return message

    async def send(self, email: Email) -> None:
        message = self.build(email)
        await anyio.to_thread.run_sync(self._deliver, message)

    def _deliver(self, message: EmailMessage) -> None:
        c = self.config
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if c.scheme == "smtps":
            client = smtplib.SMTP_SSL(c.host, c.port, timeout=SMTP_TIMEOUT_SECONDS, context=context)
        else:
            client = smtplib.SMTP(c.host, c.port, timeout=SMTP_TIMEOUT_SECONDS)
        with client:
            if c.scheme == "smtp+starttls":
                client.starttls(context=context)
            if c.username:
                client.login(c.username, c.password or "")
            client.send_message(message)


def make_email_sender(settings: Settings) -> EmailSender:
    """SMTP when ``settings.smtp_url`` is set, the log otherwise."""
    if settings.smtp_url:
        return SmtpEmailSender(settings.smtp_url, sender=settings.mail_from)
    return LogEmailSender()
