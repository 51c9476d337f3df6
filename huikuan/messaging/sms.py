"""Text messages: segment counting and the gateways that carry them.

A gateway is anything with ``send(*, to, text, message_id) -> provider_id`` that raises
:class:`TransientSmsError` when trying again later may work (timeouts, 5xx) and
:class:`PermanentSmsError` when it will not (the number is wrong). Two ship: a generic HTTP JSON
webhook, so any provider or an in-house relay can be plugged in without a new dependency, and a
console gateway for trying things out. ``HUIKUAN_SMS_URL`` chooses one.

Segment counting is a pure function: operators bill per segment, and the count is kept on the
message. Text that fits the GSM 03.38 alphabet travels as 7-bit (160 characters in one message,
153 per part when split, characters of the extension table take two); anything else — Chinese in
particular — travels as UCS-2 (70 in one, 67 per part).
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol, TextIO
from urllib.parse import urlsplit

from django.conf import settings

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# The GSM 03.38 default alphabet (without the escape code itself) and its extension table.
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("\f^{}\\[~]|€")

GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class SmsCount:
    encoding: str  # GSM-7 or UCS-2
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def _unit_widths(text: str) -> tuple[str, list[int]]:
    """Return the encoding the text needs and the width of each character in its units."""
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in text):
        return GSM7, [2 if ch in _GSM_EXTENDED else 1 for ch in text]
    # Characters beyond the Basic Multilingual Plane (emoji) are a UTF-16 surrogate pair.
    return UCS2, [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def sms_count(text: str) -> SmsCount:
    """Count the encoding, units and segments an SMS with this text is sent as.

    Split messages are packed part by part, and a character never straddles two parts (an
    escape sequence or a surrogate pair moves whole to the next part), as handsets require.
    An empty text is still one (empty) message.
    """
    encoding, widths = _unit_widths(text)
    single, part = (GSM_SINGLE, GSM_PART) if encoding == GSM7 else (UCS2_SINGLE, UCS2_PART)
    units = sum(widths)
    if units <= single:
        return SmsCount(encoding, units, 1)
    segments, used = 1, 0
    for width in widths:
        if used + width > part:
            segments += 1
            used = 0
        used += width
    return SmsCount(encoding, units, segments)


def sms_segments(text: str) -> int:
    """Return how many segments (billable messages) the text is sent as."""
    return sms_count(text).segments


class SmsError(Exception):
    """A gateway could not take the message."""


class TransientSmsError(SmsError):
    """Trying again later may work: a timeout, a 5xx, a refused connection."""


class PermanentSmsError(SmsError):
    """Trying again will not work: the gateway refused the number or the message (4xx)."""


class SmsGateway(Protocol):
    def send(self, *, to: str, text: str, message_id: str) -> str:
        """Send one message and return the provider's id for it."""
        ...


class ConsoleSmsGateway:
    """Writes each message to a stream (standard output by default) instead of sending it."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, *, to: str, text: str, message_id: str) -> str:
        stream = self.stream or sys.stdout
        count = sms_count(text)
        stream.write(f"SMS to {to} ({count.segments} × {count.encoding}) {message_id}\n{text}\n\n")
        stream.flush()
        return f"console:{message_id}"


class HttpJsonSmsGateway:
    """POSTs ``{to, text, message_id, segments}`` as JSON to a webhook.

    A 2xx answer is success and its JSON ``id`` is the provider id (the message id when absent);
    4xx means the gateway refused this message for good (a bad number); 5xx, timeouts and refused
    connections may pass later. ``message_id`` is stable across resends, so a gateway can drop a
    duplicate after a crash.
    """

    def __init__(self, url: str, *, token: str = "", timeout: float = 10.0) -> None:
        self.url = url
        self.token = token
        self.timeout = timeout

    def send(self, *, to: str, text: str, message_id: str) -> str:
        payload = {"to": to, "text": text, "message_id": message_id, "segments": sms_segments(text)}
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's configuration
            self.url, data=json.dumps(payload).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = response.read()
        except urllib.error.HTTPError as error:
            detail = _error_detail(error)
            if 400 <= error.code < 500 and error.code not in (408, 429):
                raise PermanentSmsError(f"SMS gateway refused the message: HTTP {error.code} {detail}")
            raise TransientSmsError(f"SMS gateway failed: HTTP {error.code} {detail}")
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise TransientSmsError(f"SMS gateway unreachable: {reason}")
        return _provider_id(body) or message_id


def _error_detail(error: urllib.error.HTTPError) -> str:
    try:
        return error.read(500).decode("utf-8", "replace").strip()
    except OSError:
        return str(error.reason)


def _provider_id(body: bytes) -> str:
    try:
        data: Any = json.loads(body or b"null")
    except ValueError:
        return ""
    if isinstance(data, dict) and data.get("id") not in (None, ""):
        return str(data["id"])[:200]
    return ""


def sms_gateway_from_url(url: str, *, token: str = "", timeout: float = 10.0) -> SmsGateway | None:
    """Return the gateway a ``HUIKUAN_SMS_URL`` names, or None when SMS is not configured."""
    url = url.strip()
    if not url:
        return None
    scheme = urlsplit(url).scheme.lower()
    if scheme == "console":
        return ConsoleSmsGateway()
    if scheme in ("http", "https"):
        return HttpJsonSmsGateway(url, token=token, timeout=timeout)
    raise ValueError(f"HUIKUAN_SMS_URL: unknown scheme {scheme!r}; use https://…, http://… or console://")


def sms_gateway() -> SmsGateway | None:
    """Return the configured gateway (``HUIKUAN_SMS_URL``), or None when SMS is not configured."""
    return sms_gateway_from_url(
        getattr(settings, "HUIKUAN_SMS_URL", ""),
        token=getattr(settings, "HUIKUAN_SMS_TOKEN", ""),
        timeout=float(getattr(settings, "HUIKUAN_SMS_TIMEOUT", 10.0)),
    )
