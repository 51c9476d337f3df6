"""The e-mail delivery sends over SMTP says what Django's builder would have said."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import formataddr

import pytest
from django.core.mail import BadHeaderError
from django.core.mail.message import sanitize_address

from huikuan.messaging.email import email_build, email_envelope

SUBJECTS = [
    "Payment reminder for Acme Trading",
    "【华南贸易】货款到期提醒：3,000.03 元 将于2026年11月18日到期，请及时安排付款",
    "A subject long enough to be folded: CNY 3,000.03 falls due on 18 November 2026 for invoices",
]
SENDERS = [
    "ar@company.example",
    "Na Li <li.na@company.example>",
    formataddr(("李娜", "li.na@company.example")),
]
RECIPIENTS = ["ap0@customer0.example", "a.b+c@sub.customer.example", "财务@例子.example"]
BODIES = [
    ("Dear Finance,\n\nplease pay.\n", "<p>Dear Finance,</p>\n<p>please pay.</p>"),
    ("王芳，您好：\r\n\r\n请付款。\n.a line starting with a dot\n", "<p>王芳，您好：</p>"),
    ("Only text, no HTML.\n", ""),
    ("", "<p>Only HTML</p>"),
    ("A line too long for SMTP: " + "x" * 1200 + "\n", "<p>short</p>"),
]


def _parsed(data: bytes) -> EmailMessage:
    return message_from_bytes(data, policy=policy.default)  # type: ignore[return-value]


def _summary(mail: EmailMessage) -> dict[str, object]:
    return {
        "headers": [name for name in mail if name != "Date"],
        "subject": str(mail["Subject"]).strip(),
        "from": str(mail["From"]),
        "to": str(mail["To"]),
        "message_id": str(mail["Message-ID"]),
        "type": mail.get_content_type(),
        "parts": [
            (part.get_content_type(), part["Content-Transfer-Encoding"], part.get_content())
            for part in mail.walk()
            if not part.is_multipart()
        ],
    }


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("sender", SENDERS)
@pytest.mark.parametrize("recipient", RECIPIENTS)
@pytest.mark.parametrize(("text", "html"), BODIES)
def test_the_composed_message_reads_like_the_one_django_builds(subject, sender, recipient, text, html):
    parts = {
        "message_id": "<dunning.7.email@huikuan.example>",
        "sender": sender,
        "recipient": recipient,
        "subject": subject,
        "text": text,
        "html": html,
    }

    envelope = email_envelope(**parts)

    expected = email_build(**parts).message().as_bytes(linesep="\r\n")
    assert _summary(_parsed(envelope.data)) == _summary(_parsed(expected))
    assert envelope.sender == sanitize_address(sender, "utf-8")
    assert envelope.recipients == (sanitize_address(recipient, "utf-8"),)
    lines = envelope.data.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    assert b"\n" not in envelope.data.replace(b"\r\n", b"") and b"\r" not in envelope.data.replace(
        b"\r\n", b""
    )


def test_a_subject_of_plain_words_is_folded_between_words_and_unfolds_to_itself():
    subject = " ".join(f"word{n}" for n in range(40))

    data = email_envelope(
        message_id="<m@x>",
        sender="a@x.example",
        recipient="b@x.example",
        subject=subject,
        text="t\n",
        html="",
    ).data

    header = data.split(b"\r\n\r\n")[0].decode("ascii")
    subject_lines = header.split("Subject: ", 1)[1].split("\r\nFrom:")[0].split("\r\n")
    assert len(subject_lines) > 1 and all(len(line) <= 78 for line in subject_lines)
    assert str(_parsed(data)["Subject"]) == subject


def test_a_letter_attachment_arrives_as_a_pdf_part():
    envelope = email_envelope(
        message_id="<m@x>",
        sender="a@x.example",
        recipient="b@x.example",
        subject="Formal notice",
        text="See the letter.\n",
        html="<p>See the letter.</p>",
        attachment=("D000001-20261123.pdf", b"%PDF-1.7 letter"),
    )

    (attachment,) = _parsed(envelope.data).iter_attachments()
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "D000001-20261123.pdf"
    assert attachment.get_content() == b"%PDF-1.7 letter"


def test_a_line_break_in_a_header_is_refused_rather_than_sent():
    with pytest.raises(BadHeaderError):
        email_envelope(
            message_id="<m@x>",
            sender="a@x.example",
            recipient="b@x.example",
            subject="Reminder\r\nBcc: everyone@x.example",
            text="t\n",
            html="",
        )
