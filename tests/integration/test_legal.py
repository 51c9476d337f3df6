"""Hand-overs to agencies and lawyers, recoveries, the customer's status, and the evidence pack."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from pypdf import PdfReader

from huikuan.collections.legal import (
    CurrencyAmbiguous,
    HandoverNotOpen,
    InvoiceAlreadyHandedOver,
    RecoveryExceedsDebt,
    handover_create,
    handover_end,
    recovery_record,
)
from huikuan.collections.legal_letter import claim_compute, demand_letter_pdf
from huikuan.collections.legal_models import HandoverStatus, LegalHandover
from huikuan.collections.legal_pack import evidence_pack_build
from huikuan.collections.services import promise_create
from huikuan.core.models import AuditEntry
from huikuan.core.money import Money
from huikuan.customers.models import CustomerStatus
from huikuan.dunning.engine import dunning_run
from huikuan.dunning.models import ContractTerms, DunningAction, InterestRule
from huikuan.ledger.models import Statement, StatementStatus
from huikuan.ledger.services import payment_record
from huikuan.ledger.statements import statement_build, statement_confirm
from huikuan.messaging.models import OutboxMessage, OutboxStatus
from huikuan.web.selectors import customer_timeline
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def squeezed(text: str) -> str:
    return "".join(text.split())


def debtor(code: str = "LG001", **fields):
    customer = make_customer(code, country="CN", name=fields.pop("name", "华东贸易有限公司"), **fields)
    make_invoice(customer, "12000.00", issue_date=date(2026, 6, 1), number=f"{code}-A")
    make_invoice(customer, "3000.50", issue_date=date(2026, 7, 1), number=f"{code}-B")
    return customer


def hand_over(customer, **kwargs):
    fields = {
        "user": None,
        "kind": "agency",
        "agent_name": "Dragon Collections",
        "commission_percent": "15",
        "handed_over_date": TODAY,
    }
    return handover_create(customer=customer, **{**fields, **kwargs})


def test_a_hand_over_takes_the_open_invoices_and_puts_the_customer_with_legal():
    customer = debtor()

    handover = hand_over(customer)

    customer.refresh_from_db()
    assert customer.status == CustomerStatus.LEGAL
    assert handover.amount_minor == 1_500_050 and handover.currency == "CNY"
    assert sorted(invoice.number for invoice in handover.invoices.all()) == ["LG001-A", "LG001-B"]
    entities = set(AuditEntry.objects.filter(customer=customer).values_list("entity", "action"))
    assert ("collections.legalhandover", "CREATE") in entities
    assert ("customers.customer", "UPDATE") in entities


def test_the_hand_over_shows_on_the_customer_timeline():
    customer = debtor()
    hand_over(customer, agent_name="金诚律师事务所", kind="lawyer")

    events = customer_timeline(customer=customer)

    assert any("legal hand-over" in event.title for event in events)


def test_dunning_leaves_a_customer_with_legal_alone_and_resumes_after_the_hand_over_is_returned():
    customer = debtor()
    handover = hand_over(customer)

    dunning_run(as_of=TODAY, now=NOW)
    assert not DunningAction.objects.filter(customer=customer).exists()

    handover_end(handover=handover, user=None, status="returned", ended_date=TODAY, reason="no assets found")
    customer.refresh_from_db()
    assert customer.status == CustomerStatus.ACTIVE
    dunning_run(as_of=TODAY + timedelta(days=1), now=NOW + timedelta(days=1))
    assert DunningAction.objects.filter(customer=customer).exists()


def test_recoveries_earn_commission_and_the_whole_debt_recovered_ends_the_hand_over():
    customer = debtor()
    handover = hand_over(customer, commission_percent="12.5")

    first = recovery_record(
        handover=handover, user=None, amount=Money.of("1000.01", "CNY"), recovered_date=TODAY
    )
    handover.refresh_from_db()
    assert first.commission_minor == 12_500  # 12.5 % of 100001 = 12500.125
    assert handover.status == HandoverStatus.PARTLY_RECOVERED
    assert LegalHandover.objects.get().recovered_minor == 100_001

    recovery_record(handover=handover, user=None, amount=Money.of("14000.49", "CNY"), recovered_date=TODAY)
    handover.refresh_from_db()
    assert handover.status == HandoverStatus.RECOVERED
    assert handover.commission_minor == 187_506  # 12.5 % of 1500050 = 187506.25
    customer.refresh_from_db()
    assert customer.status == CustomerStatus.ACTIVE


def test_a_recovery_beyond_the_debt_or_on_an_ended_hand_over_is_refused():
    customer = debtor()
    handover = hand_over(customer)

    with pytest.raises(RecoveryExceedsDebt):
        recovery_record(
            handover=handover, user=None, amount=Money.of("15000.51", "CNY"), recovered_date=TODAY
        )
    handover_end(handover=handover, user=None, status="closed", ended_date=TODAY)
    with pytest.raises(HandoverNotOpen):
        recovery_record(handover=handover, user=None, amount=Money.of("1", "CNY"), recovered_date=TODAY)


def test_an_invoice_already_with_an_agency_cannot_be_handed_over_again():
    customer = debtor()
    hand_over(customer)

    with pytest.raises(InvoiceAlreadyHandedOver):
        hand_over(customer, kind="lawyer", agent_name="Someone")


def test_a_second_hand_over_keeps_the_customer_with_legal_until_both_end():
    customer = debtor()
    first = hand_over(customer, invoices=[customer.invoices.get(number="LG001-A")])
    second = hand_over(
        customer, kind="lawyer", agent_name="L", invoices=[customer.invoices.get(number="LG001-B")]
    )

    handover_end(handover=first, user=None, status="closed", ended_date=TODAY)
    customer.refresh_from_db()
    assert customer.status == CustomerStatus.LEGAL
    handover_end(handover=second, user=None, status="closed", ended_date=TODAY)
    customer.refresh_from_db()
    assert customer.status == CustomerStatus.ACTIVE


def test_open_invoices_in_two_currencies_need_a_currency():
    customer = debtor()
    make_invoice(customer, "500.00", currency="USD", number="LG001-USD")

    with pytest.raises(CurrencyAmbiguous):
        hand_over(customer)
    assert hand_over(customer, currency="USD").amount_minor == 50_000


def _history(customer):
    """A confirmed statement, a sent e-mail, a promise with a recorded call, a part payment."""
    ContractTerms.objects.create(customer=customer, interest_rule=InterestRule.CONTRACT, annual_rate="12")
    payment_record(customer=customer, received_date=date(2026, 8, 15), amount=Money.of("2000.00", "CNY"),
                   invoice_numbers=["LG001-A"])  # fmt: skip
    statement = statement_build(customer=customer, currency="CNY", period_end_date=date(2026, 8, 31))
    Statement.objects.filter(pk=statement.pk).update(
        status=StatementStatus.SENT, sent_at=NOW - timedelta(days=80)
    )
    statement.refresh_from_db()
    statement_confirm(statement=statement, responder_name="陈会计", now=NOW - timedelta(days=75))
    OutboxMessage.objects.create(
        idempotency_key="test:1", message_id="<1@huikuan.test>", channel="EMAIL", status=OutboxStatus.SENT,
        customer=customer, template_key="final-notice", not_before_at=NOW, sender="ar@huikuan.test",
        recipient="finance@huadong.example", subject="最后催款函", body_text="请于七日内付款。", attempts=1,
        provider_id="smtp-42", sent_at=NOW - timedelta(days=10),
    )  # fmt: skip
    promise_create(
        customer=customer, user=None, amount=Money.of("5000.00", "CNY"), promised_date=date(2026, 10, 1),
        promised_by="王总", method="RECORDED", made_date=date(2026, 9, 20), evidence=ContentFile(b"RIFF....WAVEfmt ", name="call.wav"),
    )  # fmt: skip


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_the_evidence_pack_holds_every_part_and_its_manifest_rehashes(media, tmp_path):
    customer = debtor(language="zh-hans")
    _history(customer)
    hand_over(customer)

    pack = evidence_pack_build(customer=customer, as_of=TODAY, target=tmp_path / "pack.zip")

    with zipfile.ZipFile(pack.path) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        listed = {entry["path"]: entry for entry in manifest["files"]}
        assert names == set(listed) | {"manifest.json"}
        for path, entry in listed.items():
            data = archive.read(path)
            assert hashlib.sha256(data).hexdigest() == entry["sha256"], path
            assert len(data) == entry["bytes"]
        assert manifest["customer"]["code"] == "LG001" and manifest["as_of"] == "2026-11-23"
        for expected in (
            "DL-LG001-20261123.zh-hans.pdf",
            "interest/interest.csv",
            "invoices/invoices.csv",
            "invoices/payments.csv",
            "statements/ST-LG001-202608-CNY.pdf",
            "timeline/timeline.csv",
            "timeline/timeline.pdf",
            "messages/messages.csv",
            "promises/promises.csv",
            "legal/handovers.csv",
            "legal/incentives.csv",
        ):
            assert expected in names, expected
        message = next(name for name in names if name.startswith("messages/") and name.endswith("-email.txt"))
        record = archive.read(message).decode()
        assert "Message-ID: <1@huikuan.test>" in record and "Provider id: smtp-42" in record
        evidence = next(name for name in names if name.startswith("promises/") and name.endswith(".wav"))
        assert archive.read(evidence) == b"RIFF....WAVEfmt "
        timeline = archive.read("timeline/timeline.csv").decode("utf-8-sig")
        for kind in (",invoice,", ",payment,", ",message email,", ",promise,", ",statement,", ",change,"):
            assert kind in timeline, kind
        assert "collections.legalhandover" in timeline
        interest = archive.read("interest/interest.csv").decode("utf-8-sig").splitlines()
        assert interest[0].startswith("invoice,currency,principal")
        totals = [line for line in interest if line.startswith("LG001-A,") and line.endswith(",total")]
        assert len(totals) == 1


def test_a_changed_file_no_longer_matches_the_manifest(media, tmp_path):
    customer = debtor()
    pack = evidence_pack_build(customer=customer, as_of=TODAY, target=tmp_path / "pack.zip")
    with zipfile.ZipFile(pack.path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        entry = next(entry for entry in manifest["files"] if entry["path"] == "invoices/invoices.csv")
        tampered = archive.read("invoices/invoices.csv").replace(b"12000.00", b"1200.00")

    assert hashlib.sha256(tampered).hexdigest() != entry["sha256"]


def test_the_interest_follows_the_contract_with_periods_split_at_the_part_payment(media):
    customer = debtor()
    _history(customer)

    claim = claim_compute(customer=customer, as_of=TODAY)

    first = next(row for row in claim.invoices if row.number == "LG001-A")
    assert first.rule == InterestRule.CONTRACT
    assert [period.start for period in first.periods] == [date(2026, 7, 2), date(2026, 8, 16)]
    assert first.periods[0].annual_rate == "12"
    # 12000 x 12 % x 45 / 365 + 10000 x 12 % x 100 / 365, rounded once
    expected = (Decimal(12000) * 45 + Decimal(10000) * 100) * Decimal("0.12") / 365
    assert first.interest_minor == int((expected * 100).quantize(Decimal(1), rounding="ROUND_HALF_UP"))


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("zh-hans", ("催告函", "付款期限", "逾期")),
        ("en", ("Letter of demand", "Deadline", "legal proceedings")),
    ],
)
def test_the_demand_letter_names_the_invoices_and_the_amount_in_either_language(media, language, words):
    customer = debtor()
    _history(customer)
    claim = claim_compute(customer=customer, as_of=TODAY)
    total = claim.totals()[0]
    claimed = f"{Decimal(total.claimed_minor) / 100:,.2f}"

    text = squeezed(pdf_text(demand_letter_pdf(customer=customer, as_of=TODAY, language=language)))

    for number in ("LG001-A", "LG001-B"):
        assert number in text
    assert f"CNY{claimed}" in text
    assert "CNY13,000.50" in text  # still unpaid: 15000.50 less the 2000 paid
    for word in words:
        assert squeezed(word) in text
    deadline = TODAY + timedelta(days=7)
    assert (
        f"{deadline.year}年{deadline.month}月{deadline.day}日" if language == "zh-hans" else "2026"
    ) in text


def test_a_long_letter_lists_the_oldest_invoices_and_sums_up_the_rest(media, settings):
    settings.HUIKUAN_LEGAL_LETTER_INVOICES_MAX = 1
    customer = debtor()

    text = squeezed(pdf_text(demand_letter_pdf(customer=customer, as_of=TODAY, language="en")))

    assert "LG001-A" in text and "LG001-B" not in text
    assert squeezed("1 further unpaid invoices, unpaid CNY 3,000.50") in text
    assert "CNY15,000.50" in text  # the totals still cover every invoice
