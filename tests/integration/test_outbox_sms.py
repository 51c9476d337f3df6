"""Delivering SMS through the HTTP JSON webhook gateway to a real HTTP server on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from huikuan.collections.models import Task, TaskKind
from huikuan.messaging.delivery import outbox_deliver, retry_delay
from huikuan.messaging.models import OutboxStatus
from huikuan.messaging.sms import (
    ConsoleSmsGateway,
    HttpJsonSmsGateway,
    PermanentSmsError,
    TransientSmsError,
    sms_gateway_from_url,
)
from tests.outbox import customer_with_contact, message_queue, templates_create


@dataclass
class Webhook:
    """Answers by the number: +86100… with 400 (unknown number), +86150… with 503, else 201."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            hook.received.append(body)
            hook.headers.append(dict(self.headers))
            if body["to"].startswith("+86100"):
                status, answer = 400, {"error": "unknown number"}
            elif body["to"].startswith("+86150"):
                status, answer = 503, {"error": "busy"}
            else:
                status, answer = 201, {"id": f"gw-{len(hook.received)}"}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/sms"
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sms_settings(settings, webhook):
    settings.HUIKUAN_SMS_URL = webhook.url
    settings.HUIKUAN_SMS_TOKEN = "s3cret"
    settings.EMAIL_BACKEND = "huikuan.messaging.email.UnconfiguredBackend"
    return webhook


@pytest.mark.django_db
def test_an_sms_is_posted_as_json_with_the_token_and_the_gateways_id_is_kept(sms_settings):
    templates_create()
    customer, contact = customer_with_contact(name="华南贸易", phone="+8613800000001", language="zh-hans")
    message = message_queue(customer, channel="SMS")

    report = outbox_deliver(now=timezone.now())

    assert report.sent == 1
    (payload,) = sms_settings.received
    assert payload["to"] == "+8613800000001"
    assert payload["message_id"] == message.message_id
    assert payload["text"] == "华南贸易:您有发票已逾期,请尽快付款。"
    assert payload["segments"] == 1
    assert sms_settings.headers[0]["Authorization"] == "Bearer s3cret"
    message.refresh_from_db()
    assert (message.status, message.provider_id, message.segments) == (OutboxStatus.SENT, "gw-1", 1)


@pytest.mark.django_db
def test_a_number_the_gateway_refuses_fails_the_message_and_flags_the_contacts_phone(sms_settings):
    templates_create()
    customer, contact = customer_with_contact(phone="+8610000000000")
    message = message_queue(customer, channel="SMS")

    report = outbox_deliver(now=timezone.now())

    assert report.failed == 1
    message.refresh_from_db()
    contact.refresh_from_db()
    assert message.status == OutboxStatus.FAILED and "HTTP 400" in message.last_error
    assert contact.phone_failed_at is not None and contact.email_failed_at is None
    assert Task.objects.filter(message=message, kind=TaskKind.DELIVERY_FAILURE).exists()


@pytest.mark.django_db
def test_a_gateway_error_is_retried_later_with_backoff(sms_settings):
    templates_create()
    customer, contact = customer_with_contact(phone="+8615000000000")
    message = message_queue(customer, channel="SMS")
    now = timezone.now()

    first = outbox_deliver(now=now)
    message.refresh_from_db()
    wait = message.next_attempt_at - now
    too_soon = outbox_deliver(now=now + retry_delay(1) - timedelta(seconds=5))
    second_at = message.next_attempt_at
    second = outbox_deliver(now=second_at)

    assert (first.retrying, too_soon.processed, second.retrying) == (1, 0, 1)
    assert retry_delay(1) <= wait < retry_delay(1) + timedelta(seconds=30)
    assert len(sms_settings.received) == 2
    message.refresh_from_db()
    contact.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxStatus.QUEUED, 2) and "HTTP 503" in message.last_error
    assert retry_delay(2) <= message.next_attempt_at - second_at < retry_delay(2) + timedelta(seconds=30)
    assert contact.phone_failed_at is None


@pytest.mark.django_db
def test_sms_without_a_gateway_stays_queued(settings):
    settings.HUIKUAN_SMS_URL = ""
    templates_create()
    customer, _ = customer_with_contact(phone="+8613800000001")
    message = message_queue(customer, channel="SMS")

    report = outbox_deliver(now=timezone.now(), channels=["SMS"])

    assert report.not_configured == ["SMS"]
    message.refresh_from_db()
    assert message.status == OutboxStatus.QUEUED


def test_the_gateway_tells_permanent_from_transient_failures(webhook):
    gateway = HttpJsonSmsGateway(webhook.url)
    assert gateway.send(to="+8613800000001", text="hi", message_id="<m1@x>") == "gw-1"
    with pytest.raises(PermanentSmsError):
        gateway.send(to="+8610000000000", text="hi", message_id="<m2@x>")
    with pytest.raises(TransientSmsError):
        gateway.send(to="+8615000000000", text="hi", message_id="<m3@x>")


def test_an_unreachable_gateway_is_a_transient_failure():
    from tests.smtp import free_port

    gateway = HttpJsonSmsGateway(f"http://127.0.0.1:{free_port()}/sms", timeout=2)
    with pytest.raises(TransientSmsError):
        gateway.send(to="+8613800000001", text="hi", message_id="<m@x>")


def test_the_sms_url_chooses_the_gateway():
    assert sms_gateway_from_url("") is None
    assert isinstance(sms_gateway_from_url("console://"), ConsoleSmsGateway)
    hook = sms_gateway_from_url("https://sms.example.com/send", token="t")
    assert isinstance(hook, HttpJsonSmsGateway) and hook.token == "t"
    with pytest.raises(ValueError, match="unknown scheme"):
        sms_gateway_from_url("ftp://sms.example.com")
