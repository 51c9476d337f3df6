"""E-mail for the outbox: building the MIME message, sending it, and telling failures apart.

Sending goes through Django's mail backends, configured by ``HUIKUAN_EMAIL_URL``
(``messaging/email_url.py``). Two backends are Huikuan's own: :class:`EmlFileBackend` writes one
``.eml`` file per message into a folder any mail program opens (the demo's mailbox), and
:class:`UnconfiguredBackend` stands in when no URL is set, so that delivery leaves e-mail queued
instead of sending it somewhere by guesswork.
"""

from __future__ import annotations

import base64
import functools
import os
import re
import secrets
import smtplib
import tempfile
from dataclasses import dataclass
from email.utils import formataddr, formatdate, parseaddr
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import sanitize_address


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


# --- the message as SMTP carries it, composed directly -------------------------------------------

# Lines longer than this must be encoded (RFC 5322 §2.1.1); such rare messages take Django's path.
_LINE_LIMIT = 998
# A plain addr-spec that needs no quoting, encoding or punycode: used as it is.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\Z")
# UTF-8 bytes per encoded word: 56 base64 characters, so "Subject: =?utf-8?b?…?=" stays within 78.
_WORD_BYTES = 42


@dataclass(frozen=True, slots=True)
class EmailEnvelope:
    """What an SMTP server receives: the MAIL FROM and RCPT TO addresses and the message bytes."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes


@functools.lru_cache(maxsize=256)
def _sanitized(address: str) -> str:
    return sanitize_address(address, "utf-8")


def _envelope_address(address: str) -> str:
    """Return the address as Django's SMTP backend puts it into MAIL FROM and RCPT TO."""
    if _PLAIN_ADDRESS.match(address):
        return address
    return _sanitized(address)


def _header_value(name: str, value: str) -> str:
    """Return a header value safe to write: no line breaks, non-ASCII text as encoded words."""
    if "\n" in value or "\r" in value:
        raise BadHeaderError(f"Header values can't contain newlines (got {value!r} for header {name!r})")
    if value.isascii():
        if len(name) + 2 + len(value) <= 78:
            return value
        return _fold_ascii(name, value)
    if name in ("From", "To"):
        return _sanitized(value)
    return _encoded_words(value)


def _fold_ascii(name: str, value: str) -> str:
    """Fold a long ASCII header before spaces so that lines stay near 78 characters."""
    lines: list[str] = []
    first = current = f"{name}:"
    for word in value.split(" "):
        # A line keeps at least one word, and no line is only white space.
        if word and current != first and len(current) + 1 + len(word) > 78:
            lines.append(current)
            current = ""
        current = f"{current} {word}"
    lines.append(current)
    return "\r\n".join(lines)[len(name) + 2 :]


def _encoded_words(value: str) -> str:
    """Encode text as RFC 2047 base64 words, never splitting a character, one word per line."""
    words: list[str] = []
    chunk = bytearray()
    for character in value:
        encoded = character.encode("utf-8")
        if len(chunk) + len(encoded) > _WORD_BYTES:
            words.append(f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?=")
            chunk.clear()
        chunk += encoded
    if chunk:
        words.append(f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?=")
    return "\r\n ".join(words)


def _text_part(body: str, subtype: str) -> bytes | None:
    """Return one MIME text part (headers and body), or None when a line is too long to send as is."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    data = "\r\n".join(lines).encode("utf-8", "surrogateescape")
    if len(data) > _LINE_LIMIT and max(map(len, data.split(b"\r\n"))) > _LINE_LIMIT:
        return None
    encoding = "7bit" if body.isascii() else "8bit"
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\nMIME-Version: 1.0\r\n'
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    ).encode("ascii") + data


def _boundary(parts: list[bytes]) -> str:
    while True:
        boundary = f"=_huikuan_{secrets.token_hex(12)}"
        token = boundary.encode("ascii")
        if not any(token in part for part in parts):
            return boundary


def email_envelope(
    *,
    message_id: str,
    sender: str,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    attachment: tuple[str, bytes] | None = None,
) -> EmailEnvelope:
    """Return what goes over SMTP for an outbox message: the same message :func:`email_build` makes.

    Composing the bytes directly costs a fraction of building Python's ``email.message`` tree and
    flattening it, which was the largest part of sending a reminder. Messages with an attachment
    or with a line too long for SMTP (which needs quoted-printable) go through Django's builder.
    """
    envelope_sender = _envelope_address(sender)
    recipients = (_envelope_address(recipient),)
    text_part = _text_part(text, "plain") if attachment is None else None
    html_part = _text_part(html, "html") if html and text_part is not None else None
    if text_part is None or (html and html_part is None):
        mail = email_build(
            message_id=message_id,
            sender=sender,
            recipient=recipient,
            subject=subject,
            text=text,
            html=html,
            attachment=attachment,
        )
        mime: Any = mail.message()  # Django's MIME classes take a line separator
        return EmailEnvelope(envelope_sender, recipients, mime.as_bytes(linesep="\r\n"))
    headers = (
        f"Subject: {_header_value('Subject', subject)}\r\n"
        f"From: {_header_value('From', sender)}\r\n"
        f"To: {_header_value('To', recipient)}\r\n"
        f"Date: {formatdate(localtime=settings.EMAIL_USE_LOCALTIME)}\r\n"
        f"Message-ID: {_header_value('Message-ID', message_id)}\r\n"
    ).encode("ascii")
    if html_part is None:
        # A single text part carries its content headers at the top, as Django's builder does.
        head, _, body = text_part.partition(b"\r\n\r\n")
        return EmailEnvelope(envelope_sender, recipients, head + b"\r\n" + headers + b"\r\n" + body)
    # Like Django's builder, an empty text body leaves only the HTML alternative.
    parts = [text_part, html_part] if text else [html_part]
    boundary = _boundary(parts)
    delimiter = f"--{boundary}\r\n".encode("ascii")
    data = b"".join(
        (
            f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\nMIME-Version: 1.0\r\n'.encode(
                "ascii"
            ),
            headers,
            b"\r\n",
            *(delimiter + part + b"\r\n" for part in parts),
            f"--{boundary}--\r\n".encode("ascii"),
        )
    )
    return EmailEnvelope(envelope_sender, recipients, data)
