from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from pb import notify
from pb.errors import ConfigError
from pb.notify import Email, EmailSender, LogEmailSender, SmtpEmailSender, make_email_sender

MESSAGE = Email(to="jane@example.org", subject="Your proposal was published", body="Hello Jane,\n…")


async def test_log_sender_is_the_default(settings, caplog):
    sender = make_email_sender(settings)
    assert isinstance(sender, LogEmailSender) and isinstance(sender, EmailSender)
    with caplog.at_level(logging.INFO, logger="pb.notify"):
        await sender.send(MESSAGE)
    assert list(sender.sent) == [MESSAGE]
    assert "jane@example.org" in caplog.text and "Your proposal was published" in caplog.text


class FakeSMTP:
    instances: list[FakeSMTP] = []

    def __init__(self, host, port, timeout=None, context=None):
        self.host, self.port, self.calls = host, port, []
        FakeSMTP.instances.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.calls.append(("quit",))

    def starttls(self, context=None):
        self.calls.append(("starttls",))

    def login(self, user, password):
        self.calls.append(("login", user, password))

    def send_message(self, message):
        self.calls.append(("send", message))


@pytest.fixture
def fake_smtp(monkeypatch):
    FakeSMTP.instances = []
    monkeypatch.setattr(notify.smtplib, "SMTP", FakeSMTP)
    monkeypatch.setattr(notify.smtplib, "SMTP_SSL", FakeSMTP)
    return FakeSMTP


async def test_smtp_sender_with_starttls_and_login(settings, fake_smtp):
    settings = replace(
        settings,
        smtp_url="smtp+starttls://mailer%40city:p%40ss@mail.city.example",
        mail_from="pb@city.example",
    )
    sender = make_email_sender(settings)
    assert isinstance(sender, SmtpEmailSender)
    await sender.send(MESSAGE)
    [smtp] = fake_smtp.instances
    assert (smtp.host, smtp.port) == ("mail.city.example", 587)
    assert [c[0] for c in smtp.calls] == ["starttls", "login", "send", "quit"]
    assert smtp.calls[1] == ("login", "mailer@city", "p@ss")
    message = smtp.calls[2][1]
    assert message["From"] == "pb@city.example" and message["To"] == "jane@example.org"
    assert message["Subject"] == "Your proposal was published"
    assert message["Message-ID"].endswith("@city.example>")
    assert "Hello Jane" in message.get_content()


@pytest.mark.parametrize(
    ("url", "port", "first_call"),
    [("smtp://localhost", 25, "send"), ("smtps://mail.example:2465", 2465, "send")],
)
async def test_smtp_plain_and_implicit_tls(fake_smtp, url, port, first_call):
    await SmtpEmailSender(url, sender="pb@localhost").send(MESSAGE)
    [smtp] = fake_smtp.instances
    assert smtp.port == port and smtp.calls[0][0] == first_call


async def test_header_injection_is_refused(fake_smtp):
    sender = SmtpEmailSender("smtp://localhost", sender="pb@localhost")
    with pytest.raises(ValueError):
        await sender.send(Email(to="a@b.org", subject="hi\nBcc: everyone@b.org", body="x"))
    assert all(("send",) != c[:1] for s in fake_smtp.instances for c in s.calls)


def test_bad_smtp_url():
    with pytest.raises(ConfigError):
        SmtpEmailSender("http://mail.example", sender="pb@localhost")
