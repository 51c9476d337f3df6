"""Line identity: the same booking always gets the same identity, two bookings never share one."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from huikuan.banking.identity import (
    IDENTITY_MAX_LENGTH,
    bank_reference_usable,
    line_content,
    statement_line_identities,
)
from huikuan.banking.parsing import ParsedLine

DAY = date(2024, 3, 1)


def line(**changes) -> ParsedLine:
    fields = {"booking_date": DAY, "amount": Decimal("100.00"), "currency": "CNY", "remittance": "INV-1"}
    fields.update(changes)
    return ParsedLine(**fields)


# Few distinct values, so that generated statements are full of identical and near-identical lines.
lines = st.builds(
    ParsedLine,
    booking_date=st.integers(0, 4).map(lambda n: DAY + timedelta(days=n)),
    amount=st.sampled_from([Decimal("100"), Decimal("100.00"), Decimal("-5.5"), Decimal("0.01")]),
    currency=st.just("EUR"),
    counterparty_name=st.sampled_from(["", "ACME Ltd", "acme  ltd"]),
    remittance=st.sampled_from(["", "INV-1", "INV-2"]),
    bank_reference=st.sampled_from(["", "", "NONREF", "R1", "R2", "R3"]),
)
statements = st.lists(lines, max_size=30)


@given(statements)
def test_every_line_of_a_statement_has_its_own_identity(statement):
    identities = statement_line_identities(statement)

    assert len(identities) == len(statement)
    assert len(set(identities)) == len(statement)
    assert all(len(identity) <= IDENTITY_MAX_LENGTH for identity in identities)


def _references_made_unique(statement: list[ParsedLine]) -> list[ParsedLine]:
    """Keep blanks and placeholders; give every real reference its own value, as banks promise."""
    return [
        replace(booking, bank_reference=f"REF{n}")
        if bank_reference_usable(booking.bank_reference)
        else booking
        for n, booking in enumerate(statement)
    ]


@given(statements.map(_references_made_unique), st.sets(st.integers(0, 4)))
def test_a_day_sent_again_in_another_statement_gets_the_same_identities(statement, days_kept):
    """An overlapping file holds whole days: its lines of a day are identified as before."""
    kept_dates = {DAY + timedelta(days=n) for n in days_kept}
    full = statement_line_identities(statement)
    kept = [n for n, booking in enumerate(statement) if booking.booking_date in kept_dates]

    again = statement_line_identities([statement[n] for n in kept])

    assert again == [full[n] for n in kept]


@given(statements, st.integers(1, 3))
def test_identical_payments_on_one_day_stay_separate_lines(statement, copies):
    payment = line(bank_reference="")
    identities = statement_line_identities([*statement, *[payment] * copies])

    assert len(set(identities[-copies:])) == copies


def test_a_bank_reference_identifies_the_line_whatever_its_text():
    first = statement_line_identities([line(bank_reference="MB170119012058", remittance="a")])
    second = statement_line_identities([line(bank_reference="MB170119012058", remittance="b")])

    assert first == second == ["ref:MB170119012058"]


def test_a_placeholder_or_repeated_reference_falls_back_to_the_content():
    identities = statement_line_identities(
        [line(bank_reference="NONREF"), line(bank_reference="R"), line(bank_reference="R", amount=Decimal(5))]
    )

    assert all(identity.startswith("sha:") and len(identity) >= 36 for identity in identities)
    assert len(set(identities)) == 3


def test_layout_differences_between_two_exports_do_not_change_the_identity():
    plain = line(amount=Decimal("15000"), remittance="Invoice  INV-1 ", counterparty_account="DE14 5088")
    laid_out = line(amount=Decimal("15000.00"), remittance="invoice inv-1", counterparty_account="de145088")

    assert line_content(plain) == line_content(laid_out)
    assert statement_line_identities([plain]) == statement_line_identities([laid_out])


def test_any_difference_in_what_was_booked_changes_the_identity():
    base = line()
    variants = [
        line(booking_date=DAY + timedelta(days=1)),
        line(value_date=DAY),
        line(amount=Decimal("-100.00")),
        line(currency="EUR"),
        line(counterparty_name="ACME"),
        line(counterparty_account="CH22"),
        line(remittance="INV-2"),
        line(structured_reference="RF18"),
        line(end_to_end_id="E2E"),
        line(transaction_code="NTRF"),
    ]

    identities = {statement_line_identities([variant])[0] for variant in [base, *variants]}

    assert len(identities) == len(variants) + 1


def test_a_very_long_reference_is_kept_within_the_column_and_still_distinct():
    long_a, long_b = "A" * 140, "A" * 139 + "B"

    identities = statement_line_identities([line(bank_reference=long_a), line(bank_reference=long_b)])

    assert all(
        identity.startswith("ref:") and len(identity) <= IDENTITY_MAX_LENGTH for identity in identities
    )
    assert identities[0] != identities[1]
