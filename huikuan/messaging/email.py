"""E-mail for the outbox: building the MIME message, sending it, and telling failures apart.

Sending goes through Django's mail backends, configured by ``HUIKUAN_EMAIL_URL``
(``messaging/email_url.py``). Two backends are Huikuan's own: :class:`EmlFileBackend` writes one
``.eml`` file per message into a folder any mail program opens (the demo's mailbox), and
:class:`UnconfiguredBackend` stands in when no URL is set, so that delivery leaves e-mail queued
instead of sending it somewhere by guesswork.
"""

from __future__ import annotations

import os
import re
import smtplib
import tempfile
from dataclasses import dataclass
from email.utils import formataddr, parseaddr
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend


class EmailNotConfigured(Exception):
    """No ``HUIKUAN_EMAIL_URL`` is set."""


class UnconfiguredBackend(BaseEmailBackend):
    """Refuses to send: e-mail has not been configured (``HUIKUAN_EMAIL_URL``)."""

    def send_messages(self, email_messages: Any) -> int:
        raise EmailNotConfigured(
            "e-mail is not configured: set HUIKUAN_EMAIL_URL (see docs/configuration.md)"
        )


def email_configured() -> bool:
    """Return whether e-mail has somewhere to go."""
    return settings.EMAIL_BACKEND != "huikuan.messaging.email.UnconfiguredBackend"


_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")


class EmlFileBackend(BaseEmailBackend):
    """Writes each message to ``<EMAIL_FILE_PATH>/<Message-ID>.eml``.

    The file is named by the Message-ID, so a message sent again after a crash replaces its own
    file rather than adding a second; it is written under a temporary name and renamed, so a mail
    program watching the folder never opens half a message.
    """

    def __init__(self, *, file_path: str | None = None, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.folder = Path(file_path or settings.EMAIL_FILE_PATH).expanduser()

    def send_messages(self, email_messages: Any) -> int:
        self.folder.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            mime = message.message()
            stem = _UNSAFE.sub("_", str(mime["Message-ID"] or "").strip("<>")) or f"message-{id(message)}"
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
            with os.fdopen(handle, "wb") as out:
                out.write(mime.as_bytes(linesep="\r\n"))
            os.replace(temporary, self.folder / f"{stem}.eml")
            sent += 1
        return sent


@dataclass(frozen=True)
class EmailFailure:
    """Why an e-mail was not accepted, and what that means for the message and the contact."""

    permanent: bool  # True: do not try again
    bad_address: bool  # True: the recipient's address is at fault; flag the contact
    reason: str


def _code_text(code: int, text: bytes | str) -> str:
    detail = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {detail}".strip()


def email_failure_classify(error: BaseException) -> EmailFailure:
    """Sort a sending error into transient (retry later) or permanent (and whose fault).

    SMTP replies say it themselves: 4xx is "try again later", 5xx "never". A refused recipient
    (5xx at RCPT TO) is a bad address; a refused sender is our configuration, which retrying
    after the operator fixes it will cure, so it is transient. Lost connections and timeouts are
    transient.
    """
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = list(error.recipients.values())
        reason = "; ".join(f"{address}: {_code_text(*reply)}" for address, reply in error.recipients.items())
        permanent = bool(replies) and all(500 <= code < 600 for code, _ in replies)
        return EmailFailure(permanent, permanent, f"recipient refused: {reason}")
    if isinstance(error, smtplib.SMTPSenderRefused):
        return EmailFailure(
            False, False, f"sender {error.sender} refused: {_code_text(error.smtp_code, error.smtp_error)}"
        )
    if isinstance(error, smtplib.SMTPResponseException):
        permanent = 500 <= error.smtp_code < 600
        # A 5xx after DATA names the message or the mailbox (550 mailbox unavailable, 554 rejected).
        bad_address = (
            permanent and isinstance(error, smtplib.SMTPDataError) and error.smtp_code in (550, 551, 553)
        )
        return EmailFailure(
            permanent, bad_address, f"server said {_code_text(error.smtp_code, error.smtp_error)}"
        )
    if isinstance(error, EmailNotConfigured):
        return EmailFailure(False, False, str(error))
    name = error.__class__.__name__
    return EmailFailure(False, False, f"{name}: {error}" if str(error) else name)


def email_address(*, name: str, address: str) -> str:
    """Return ``"Name <address>"`` (encoded as the headers need it), or the bare address."""
    return formataddr((name, address)) if name else address


def email_address_valid(address: str) -> bool:
    """Return whether the text is one plausible mailbox (local@domain), not a list or a name."""
    _, parsed = parseaddr(address)
    return bool(parsed) and parsed == address.strip() and "@" in parsed and " " not in parsed


def email_build(
    *,
    message_id: str,
    sender: str,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    attachment: tuple[str, bytes] | None = None,
    connection: BaseEmailBackend | None = None,
) -> EmailMultiAlternatives:
    """Return the e-mail for an outbox message: text, an HTML alternative, the letter as PDF."""
    mail = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=sender,
        to=[recipient],
        headers={"Message-ID": message_id},
        connection=connection,
    )
    if html:
        mail.attach_alternative(html, "text/html")
    if attachment is not None:
        filename, content = attachment
        mail.attach(filename, content, "application/pdf")
    return mail
