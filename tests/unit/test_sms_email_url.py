"""HUIKUAN_EMAIL_URL becomes Django's e-mail settings."""

from __future__ import annotations

import pytest

from huikuan.messaging.email_url import (
    CONSOLE_BACKEND,
    FILE_BACKEND,
    SMTP_BACKEND,
    UNCONFIGURED_BACKEND,
    EmailUrlError,
    email_settings_from_url,
)


def test_no_url_means_email_is_not_configured():
    assert email_settings_from_url("") == {"EMAIL_BACKEND": UNCONFIGURED_BACKEND}


def test_smtp_with_starttls_defaults_to_the_submission_port_and_decodes_the_password():
    got = email_settings_from_url("smtp+tls://ar%40example.com:p%40ss%3Aword@smtp.example.com")
    assert got["EMAIL_BACKEND"] == SMTP_BACKEND
    assert (got["EMAIL_HOST"], got["EMAIL_PORT"]) == ("smtp.example.com", 587)
    assert (got["EMAIL_HOST_USER"], got["EMAIL_HOST_PASSWORD"]) == ("ar@example.com", "p@ss:word")
    assert (got["EMAIL_USE_TLS"], got["EMAIL_USE_SSL"]) == (True, False)


@pytest.mark.parametrize(
    ("url", "port", "tls", "ssl"),
    [
        ("smtp://mail:2525", 2525, False, False),
        ("smtp://mail", 25, False, False),
        ("smtp+ssl://mail", 465, False, True),
    ],
)
def test_each_smtp_form_has_its_port_and_security(url, port, tls, ssl):
    got = email_settings_from_url(url)
    assert (got["EMAIL_PORT"], got["EMAIL_USE_TLS"], got["EMAIL_USE_SSL"]) == (port, tls, ssl)


def test_a_timeout_can_be_given_in_the_query():
    assert email_settings_from_url("smtp://mail?timeout=5")["EMAIL_TIMEOUT"] == 5.0


def test_console_and_file_urls_choose_their_backends():
    assert email_settings_from_url("console://")["EMAIL_BACKEND"] == CONSOLE_BACKEND
    assert email_settings_from_url("file:///var/mail/huikuan") == {
        "EMAIL_BACKEND": FILE_BACKEND,
        "EMAIL_FILE_PATH": "/var/mail/huikuan",
    }


@pytest.mark.parametrize("url", ["imap://mail.example.com", "smtp://", "file://", "smtp://mail:notaport"])
def test_a_url_that_cannot_work_is_refused_with_the_setting_named(url):
    with pytest.raises(EmailUrlError, match="HUIKUAN_EMAIL_URL"):
        email_settings_from_url(url)
