"""``HUIKUAN_EMAIL_URL``: where e-mail goes, as one URL turned into Django's ``EMAIL_*`` settings.

Kept free of Django imports: ``config/settings.py`` calls it while settings are being read.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"
FILE_BACKEND = "huikuan.messaging.email.EmlFileBackend"
# Used when HUIKUAN_EMAIL_URL is not set: delivery leaves e-mail queued instead of guessing.
UNCONFIGURED_BACKEND = "huikuan.messaging.email.UnconfiguredBackend"

_DEFAULT_PORTS = {"smtp": 25, "smtp+tls": 587, "smtp+ssl": 465}


class EmailUrlError(ValueError):
    pass


def email_settings_from_url(url: str) -> dict[str, Any]:
    """Return Django ``EMAIL_*`` settings for an e-mail URL.

    ``smtp://user:pass@host:port`` (plain), ``smtp+tls://…`` (STARTTLS, port 587 by default),
    ``smtp+ssl://…`` (TLS from the start, 465), ``console://`` (print), ``file:///folder`` (one
    ``.eml`` file per message). ``?timeout=SECONDS`` sets the SMTP timeout (default 30).
    """
    url = url.strip()
    if not url:
        return {"EMAIL_BACKEND": UNCONFIGURED_BACKEND}
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    if scheme == "console":
        return {"EMAIL_BACKEND": CONSOLE_BACKEND}
    if scheme == "file":
        path = unquote(parts.path)
        if parts.netloc:  # file://relative/dir written by mistake: keep what was meant
            path = unquote(parts.netloc) + path
        if not path:
            raise EmailUrlError("HUIKUAN_EMAIL_URL: file:// needs a folder, e.g. file:///var/mail/huikuan")
        return {"EMAIL_BACKEND": FILE_BACKEND, "EMAIL_FILE_PATH": path}
    if scheme in _DEFAULT_PORTS:
        if not parts.hostname:
            raise EmailUrlError(
                f"HUIKUAN_EMAIL_URL: {scheme}:// needs a host, e.g. {scheme}://mail.example.com"
            )
        try:
            port = parts.port or _DEFAULT_PORTS[scheme]
            timeout = float(query.get("timeout", "30"))
        except ValueError as error:
            raise EmailUrlError(f"HUIKUAN_EMAIL_URL: {error}")
        return {
            "EMAIL_BACKEND": SMTP_BACKEND,
            "EMAIL_HOST": parts.hostname,
            "EMAIL_PORT": port,
            "EMAIL_HOST_USER": unquote(parts.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
            "EMAIL_USE_TLS": scheme == "smtp+tls",
            "EMAIL_USE_SSL": scheme == "smtp+ssl",
            "EMAIL_TIMEOUT": timeout,
        }
    raise EmailUrlError(
        f"HUIKUAN_EMAIL_URL: unknown scheme {scheme!r}; use smtp://, smtp+tls://, smtp+ssl://, "
        "console:// or file:///folder"
    )
