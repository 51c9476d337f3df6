"""`huikuan import payments`: upsert, allocation by the ledger's own rule, all or nothing."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from huikuan.core.money import Money
from huikuan.customers.models import Customer
from huikuan.ledger.imports import payments_import
from huikuan.ledger.models import Allocation, Invoice, InvoiceStatus, Payment, PaymentMethod, ShortPayment
from huikuan.ledger.services import payment_record
from tests.factories import make_customer, make_invoice
from tests.ibm import ibm_rows, import_ibm_sample
from tests.importing import run_import, write_csv

pytestmark = pytest.mark.django_db

HEADER = [
    "payment_date",
    "customer_code",
    "currency",
    "amount",
    "reference",
    "method",
    "invoice_number",
    "payment_id",
]


def ledger():
    """Everything a payment import may write, to compare before and after."""
    return tuple(
        list(model.objects.order_by("pk").values()) for model in (Invoice, Payment, Allocation, ShortPayment)
    )


def open_amounts(*invoices):
    return [Invoice.objects.get(pk=invoice.pk).open_minor for invoice in invoices]


def test_a_payment_settles_the_oldest_due_invoice_first_and_keeps_the_rest_on_account(tmp_path):
    customer = make_customer("C1")
    newer = make_invoice(customer, "100.00", issue_date=date(2024, 2, 1), number="N")
    older = make_invoice(customer, "50.00", issue_date=date(2024, 1, 1), number="O")
    path = write_csv(tmp_path / "p.csv", [HEADER, ["2024-03-01", "C1", "CNY", "170.00", "R1", "", "", ""]])

    result = payments_import(path)

    payment = Payment.objects.get()
    assert open_amounts(older, newer) == [0, 0]
    assert (payment.amount_minor, payment.unapplied_minor, payment.method) == (
        17000,
        2000,
        PaymentMethod.BANK_TRANSFER,
    )
    assert Invoice.objects.get(number="O").settled_date == date(2024, 3, 1)
    assert (result.created, result.details["allocations"], result.details["invoices_paid"]) == (1, 2, 2)


def test_named_invoices_are_settled_first_in_the_order_given(tmp_path):
    customer = make_customer("C1")
    oldest = make_invoice(customer, "50.00", issue_date=date(2024, 1, 1), number="A")
    second = make_invoice(customer, "30.00", issue_date=date(2024, 2, 1), number="B")
    third = make_invoice(customer, "80.00", issue_date=date(2024, 3, 1), number="C")
    path = write_csv(tmp_path / "p.csv", [HEADER, ["2024-04-01", "C1", "CNY", "130", "", "", "C；B", ""]])

    payments_import(path)

    assert open_amounts(third, second, oldest) == [0, 0, 3000]
    assert Invoice.objects.get(number="A").status == InvoiceStatus.PARTIALLY_PAID


def test_a_short_payment_of_a_named_invoice_is_recorded(tmp_path):
    customer = make_customer("C1")
    invoice = make_invoice(customer, "100.00", number="INV-1")
    path = write_csv(
        tmp_path / "p.csv", [HEADER, ["2024-02-05", "C1", "CNY", "93.50", "", "", "INV-1", "P1"]]
    )

    result = payments_import(path)

    short = ShortPayment.objects.get()
    assert (short.invoice_id, short.short_minor, short.event_date, short.payment.external_id) == (
        invoice.pk, 650, date(2024, 2, 5), "P1",
    )  # fmt: skip
    assert result.details["short_payments"] == 1


def test_the_import_leaves_the_ledger_as_recording_each_payment_would(tmp_path):
    """The bulk import and payment_record, one payment at a time in date order, agree exactly."""
    invoices = [("I1", "2024-01-01", 30, "100.00"), ("I2", "2024-01-10", 10, "250.00"),
                ("I3", "2024-02-01", 30, "75.50"), ("I4", "2024-05-01", 30, "40.00")]  # fmt: skip
    payments = [("2024-02-15", "120.00", "I3", "X1"), ("2024-01-20", "90.00", "", "X2"),
                ("2024-03-01", "500.00", "I4", "X3"), ("2024-03-01", "10.00", "", "X4")]  # fmt: skip
    by_hand, by_file = make_customer("HAND"), make_customer("FILE")
    for customer in (by_hand, by_file):
        for number, issued, days, amount in invoices:
            make_invoice(customer, amount, issue_date=date.fromisoformat(issued), due_days=days,
                         number=f"{customer.code}-{number}")  # fmt: skip
    for received, amount, named, _id in sorted(payments, key=lambda p: p[0]):  # date order, then file order
        payment_record(customer=by_hand, received_date=date.fromisoformat(received), amount=Money.of(amount, "CNY"),
                       invoice_numbers=[f"HAND-{named}"] if named else [])  # fmt: skip
    write_csv(
        tmp_path / "p.csv",
        [HEADER, *[[d, "FILE", "CNY", a, "", "", f"FILE-{n}" if n else "", i] for d, a, n, i in payments]],
    )

    payments_import(tmp_path / "p.csv")

    def state(customer):
        invoices = Invoice.objects.filter(customer=customer).order_by("number")
        return (
            [(i.number[5:], i.open_minor, i.status, i.settled_date) for i in invoices],
            sorted((p.received_date, p.amount_minor, p.unapplied_minor) for p in customer.payments.all()),
            sorted((s.invoice.number[5:], s.short_minor, s.event_date) for s in ShortPayment.objects.filter(
                invoice__customer=customer)),
        )  # fmt: skip

    assert state(by_file) == state(by_hand)
    assert state(by_file)[2]  # the scenario does leave short payments


@pytest.mark.parametrize(
    ("word", "method"),
    [("银行转账", PaymentMethod.BANK_TRANSFER), ("Wire", PaymentMethod.BANK_TRANSFER), ("现金", PaymentMethod.CASH),
     ("check", PaymentMethod.CHEQUE), ("承兑汇票", PaymentMethod.BANK_ACCEPTANCE_BILL), ("刷卡", PaymentMethod.CARD),
     ("其他", PaymentMethod.OTHER), ("BANK_ACCEPTANCE_BILL", PaymentMethod.BANK_ACCEPTANCE_BILL),
     ("bank transfer", PaymentMethod.BANK_TRANSFER)],
)  # fmt: skip
def test_payment_methods_are_read_from_our_values_english_words_and_chinese_terms(tmp_path, word, method):
    make_customer("C1")
    payments_import(
        write_csv(tmp_path / "p.csv", [HEADER, ["2024-01-01", "C1", "CNY", "1", "", word, "", ""]])
    )
    assert Payment.objects.get().method == method


def test_reimporting_the_same_file_changes_nothing(tmp_path):
    customer = make_customer("C1")
    make_invoice(customer, "100.00", number="INV-1")
    make_invoice(customer, "100.00", number="INV-2")
    path = write_csv(
        tmp_path / "p.csv",
        [["付款日期", "客户编码", "币种", "金额", "参考号", "付款方式", "发票号", "付款编号"],
         ["2024-02-01", "C1", "CNY", "60", "BANK-1", "电汇", "INV-2", "P-1"],
         ["2024-02-02", "C1", "CNY", "60", "BANK-2", "", "", ""],
         ["2024-02-03", "C1", "CNY", "500", "", "", "", ""]],
    )  # fmt: skip
    first = payments_import(path)
    before = ledger()

    result = payments_import(path)

    assert (first.created, result.created, result.updated, result.unchanged) == (3, 0, 0, 3)
    assert ledger() == before


def test_a_new_method_or_reference_for_a_recorded_payment_updates_it(tmp_path):
    make_customer("C1")
    payments_import(
        write_csv(tmp_path / "a.csv", [HEADER, ["2024-01-01", "C1", "CNY", "1", "", "", "", "P1"]])
    )

    result = payments_import(
        write_csv(tmp_path / "b.csv", [HEADER, ["2024-01-01", "C1", "CNY", "1", "R9", "cash", "", "P1"]])
    )

    payment = Payment.objects.get()
    assert (result.updated, payment.method, payment.reference) == (1, PaymentMethod.CASH, "R9")


GOOD = ["2024-02-01", "C1", "CNY", "10.00", "", "", "", "P0"]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            ["2024-02-01", "C9", "CNY", "1", "", "", "", ""],
            'p.csv:3:customer_code: customer "C9" does not exist',
        ),
        (
            ["2024-02-01", "C1", "CNY", "1", "", "", "NOPE", ""],
            'p.csv:3:invoice_number: invoice "NOPE" does not exist',
        ),
        (
            ["2024-02-01", "C1", "CNY", "1", "", "", "THEIRS", ""],
            'p.csv:3:invoice_number: invoice "THEIRS" belongs to customer C2, not C1',
        ),
        (
            ["2024-02-01", "C1", "CNY", "1", "", "", "DOLLARS", ""],
            'p.csv:3:invoice_number: invoice "DOLLARS" is in USD, this payment in CNY',
        ),
        (
            ["2024-02-01", "C1", "CNY", "1", "", "barter", "", ""],
            'p.csv:3:method: "barter" is not a payment method',
        ),
        (
            ["2024-02-01", "C1", "CNY", "-1", "", "", "", ""],
            'p.csv:3:amount: "-1" is negative; a payment import takes only amounts above zero',
        ),
        (
            ["2024-02-01", "C1", "CNY", "0.001", "", "", "", ""],
            "p.csv:3:amount: 0.001 has more decimal places than CNY",
        ),
        (
            ["2/1/2024", "C1", "CNY", "1", "", "", "", ""],
            'p.csv:3:payment_date: "2/1/2024" could be month/day or day/month',
        ),
        (
            ["2024-02-01", "C1", "CNY", "1", "", "", "", "P0"],
            'p.csv:3:payment_id: payment "P0" is also on row 2',
        ),
        (["", "C1", "CNY", "1", "", "", "", ""], "p.csv:3:payment_date: a date is required"),
    ],
)
def test_each_bad_cell_gives_its_message_and_nothing_is_written(tmp_path, monkeypatch, row, expected):
    customer = make_customer("C1")
    make_invoice(make_customer("C2"), number="THEIRS")
    make_invoice(customer, currency="USD", number="DOLLARS")
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "p.csv", [HEADER, GOOD, row])
    before = ledger()

    code, _out, err = run_import("payments", "p.csv")

    assert code == 2
    assert expected in err
    assert ledger() == before


def test_the_same_payment_twice_without_an_id_is_an_error(tmp_path):
    make_customer("C1")
    path = write_csv(tmp_path / "p.csv", [HEADER, ["2024-02-01", "C1", "CNY", "5", "R", "", "", ""],
                                          ["2024-02-01", "C1", "CNY", "5.00", "R", "", "", ""]])  # fmt: skip

    code, _out, err = run_import("payments", path)

    assert code == 2
    assert "the same payment (customer, date, amount and reference) is also on row 2" in err
    assert Payment.objects.count() == 0


def test_a_recorded_payment_cannot_change_its_amount(tmp_path):
    make_customer("C1")
    payments_import(
        write_csv(tmp_path / "a.csv", [HEADER, ["2024-01-01", "C1", "CNY", "1", "", "", "", "P1"]])
    )

    code, _out, err = run_import(
        "payments",
        write_csv(tmp_path / "b.csv", [HEADER, ["2024-01-01", "C1", "CNY", "2", "", "", "", "P1"]]),
    )

    assert code == 2
    assert 'payment "P1" is already recorded for C1 on 2024-01-01, 1.00 CNY; an import cannot change' in err
    assert Payment.objects.get().amount_minor == 100


def test_a_dry_run_reports_the_allocations_and_writes_nothing(tmp_path):
    customer = make_customer("C1")
    make_invoice(customer, "100.00")
    path = write_csv(tmp_path / "p.csv", [HEADER, ["2024-02-01", "C1", "CNY", "60", "", "", "", ""]])
    before = ledger()

    code, out, _err = run_import("payments", path, "--dry-run")

    assert code == 0
    assert "1 would be created" in out and "allocations: 1" in out and "short payments: 1" in out
    assert ledger() == before


@pytest.mark.shared_data
def test_the_ibm_sample_imports_through_the_public_commands(shared_data, tmp_path):
    rows = ibm_rows(shared_data)

    import_ibm_sample(shared_data, tmp_path)

    assert Customer.objects.count() == 100
    assert Invoice.objects.count() == 2466
    assert set(Invoice.objects.values_list("status", flat=True)) == {InvoiceStatus.PAID}
    assert Payment.objects.filter(unapplied_minor=0).count() == 2466
    file_total = sum(Decimal(row["InvoiceAmount"]) for row in rows)
    assert sum(Invoice.objects.values_list("amount_minor", flat=True)) == int(file_total * 100)
    assert sum(Payment.objects.values_list("amount_minor", flat=True)) == int(file_total * 100)
    sample = rows[0]
    invoice = Invoice.objects.get(number=sample["invoiceNumber"])
    assert invoice.issue_date == datetime.strptime(sample["InvoiceDate"], "%m/%d/%Y").date()
    assert invoice.settled_date == datetime.strptime(sample["SettledDate"], "%m/%d/%Y").date()
    assert ShortPayment.objects.count() == 0
