"""In a real browser: a credit controller works the bank review queue after a camt.053 import."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from huikuan.banking.matching_service import bank_match
from huikuan.banking.models import BankStatementLine, LineStatus
from huikuan.banking.services import bank_account_create, bank_import
from huikuan.ledger.models import Invoice
from tests.browser.support import sign_in
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

IBAN = "CN12 3456 7890 1234 5678 90"
CAMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>HK-TEST-1</MsgId><CreDtTm>2026-11-21T08:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>STMT-2026-11-20</Id>
      <CreDtTm>2026-11-21T08:00:00</CreDtTm>
      <FrToDt><FrDtTm>2026-11-20T00:00:00</FrDtTm><ToDtTm>2026-11-20T23:59:59</ToDtTm></FrToDt>
      <Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>CNY</Ccy></Acct>
      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">1000.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-20</Dt></Dt></Bal>
      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">16000.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-20</Dt></Dt></Bal>
      {entries}
    </Stmt>
  </BkToCstmrStmt>
</Document>
"""
ENTRY = """<Ntry>
        <Amt Ccy="CNY">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><Dt>2026-11-20</Dt></BookgDt><ValDt><Dt>2026-11-20</Dt></ValDt>
        <AcctSvcrRef>{reference}</AcctSvcrRef>
        <NtryDtls><TxDtls>
          <RltdPties><Dbtr><Nm>{payer}</Nm></Dbtr><DbtrAcct><Id><Othr><Id>{account}</Id></Othr></Id></DbtrAcct></RltdPties>
          <RmtInf><Ustrd>{remittance}</Ustrd></RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>"""


def _camt(tmp_path: Path) -> Path:
    entries = [
        ENTRY.format(
            amount="12000.00",
            reference="BK-1",
            payer="上海华东机电设备有限公司",
            account="6222 0210 0000 1234",
            remittance="货款 INV-1001",
        ),
        ENTRY.format(
            amount="3000.00",
            reference="BK-2",
            payer="北方重工财务部",
            account="6222 0210 0000 9876",
            remittance="INV-1002 部分付款",
        ),
    ]
    path = tmp_path / "camt053.xml"
    path.write_text(CAMT.format(iban=IBAN, entries="\n      ".join(entries)), encoding="utf-8")
    return path


@pytest.fixture
def review_queue(settings, tmp_path, make_user):
    """A statement imported and matched, both its credits waiting for review.

    The auto-apply threshold is set out of reach, so that even the sure match waits for a person.
    """
    settings.HUIKUAN_BANK_AUTO_APPLY_CONFIDENCE = 101
    controller = make_user("zhao.min", role="CREDIT_CONTROLLER", first_name="Min", last_name="Zhao")
    huadong = make_customer(code="C-1001", name="上海华东机电设备有限公司")
    north = make_customer(code="C-1002", name="北方重工机械有限公司")
    make_invoice(huadong, "12000.00", issue_date=date(2026, 9, 1), due_days=30, number="INV-1001")
    make_invoice(north, "8000.00", issue_date=date(2026, 9, 15), due_days=30, number="INV-1002")
    account = bank_account_create(name="ICBC Shanghai", account_number=IBAN, currency="CNY", bank_name="ICBC")
    imported = bank_import(path=_camt(tmp_path), account=account, actor=controller)
    assert imported["new_lines"] == 2
    summary = bank_match(as_of=date(2026, 11, 21))
    assert summary["review"] == 2, summary
    return {"controller": controller, "huadong": huadong}


def test_a_controller_accepts_a_proposal_and_sees_the_invoice_paid(page, review_queue, screenshot):
    sign_in(page, "zhao.min", next_url="/bank/")
    page.get_by_role("heading", name="Payments to review").wait_for()
    row = page.locator("tbody.bank-line", has_text="上海华东机电设备有限公司").first
    assert "12,000.00" in row.inner_text() and "INV-1001" in row.inner_text()
    assert page.locator("tbody.bank-line").count() == 2
    screenshot(page, "bank-review.en")

    row.get_by_role("button", name="Accept").click()

    page.get_by_role("status").filter(has_text="Applied to C-1001: 12,000.00 CNY.").wait_for()
    # The row changed in place: the other credit still waits, with its own Accept button.
    assert page.locator("tbody.bank-line").count() == 2
    assert page.get_by_role("button", name="Accept").count() == 1
    line = BankStatementLine.objects.get(remittance__contains="INV-1001")
    assert line.status == LineStatus.APPLIED and line.customer_id == review_queue["huadong"].pk
    assert Invoice.objects.get(number="INV-1001").open_minor == 0

    customer_link = page.locator(f"#bank-line-{line.pk} td.decision").get_by_role("link")
    assert customer_link.inner_text() == "上海华东机电设备有限公司"
    with page.expect_navigation():
        customer_link.click()

    page.get_by_role("heading", name="上海华东机电设备有限公司").wait_for()
    invoices = page.locator("#invoices")
    assert "No open invoices." in invoices.inner_text()
    assert "INV-1001" not in invoices.inner_text()


def test_a_refused_split_is_explained_beside_the_row(page, review_queue, screenshot):
    sign_in(page, "zhao.min", next_url="/bank/")
    row = page.locator("tbody.bank-line", has_text="北方重工财务部").first
    row.locator("summary").click()

    row.get_by_label("Parts, one a line").fill("C-1002 INV-1002 1000.00")
    row.get_by_role("button", name="Split").click()

    alert = page.locator("tbody.bank-line", has_text="北方重工财务部").get_by_role("alert")
    alert.wait_for()
    assert "add up to 1000.00 CNY but the line is 3000.00 CNY" in alert.inner_text()
    assert Invoice.objects.get(number="INV-1002").open_minor == 800_000
    screenshot(page, "bank-review-split-refused.en")
