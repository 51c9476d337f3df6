"""The bank pages over HTTP: the review queue and its decisions, unapplied cash, statements,
matching from the page, who may see and who may act, and the queries each list takes."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from huikuan.accounts.models import Role
from huikuan.banking.matching_service import bank_match, line_split
from huikuan.banking.models import BankStatementLine, LineStatus, MatchProposal
from huikuan.core.money import Money
from huikuan.ledger.models import Invoice, Payment, ShortPayment
from tests.bank_factories import make_line, make_statement
from tests.e2e.web_builders import make_user, signed_in_client
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def controller(db):
    return make_user("controller", Role.CREDIT_CONTROLLER, "Chen Controller")


@pytest.fixture
def client(controller) -> Client:
    return signed_in_client(controller)


@pytest.fixture
def book(settings, controller):
    """Acme owes INV-0042 (1,000.00) and INV-0043 (500.00), Other owes INV-0050 (300.00).

    Matching the four lines leaves the exact 500.00 applied, the 600.00 that names INV-0042 from
    an unknown payer waiting for review, 77.70 from a stranger as unapplied cash (owned by the
    controller), and the bank's 20.00 fee out of matching.
    """
    settings.HUIKUAN_BANK_UNMATCHED_OWNER = controller.username
    acme = make_customer("ACME", name="Acme Trading")
    other = make_customer("OTHER", name="Other Ltd")
    make_invoice(acme, "1000.00", number="INV-0042", issue_date=date(2024, 1, 1))
    make_invoice(acme, "500.00", number="INV-0043", issue_date=date(2024, 1, 2))
    make_invoice(other, "300.00", number="INV-0050", issue_date=date(2024, 1, 3))
    statement = make_statement()
    exact = make_line("500.00", statement=statement, payer="Acme Trading Ltd", remittance="INV-0043")
    short = make_line(
        "600.00", statement=statement, payer="Holding Finance", account="CN99 0001", remittance="INV-0042"
    )
    unknown = make_line("77.70", statement=statement, payer="Stranger", booking_date=date(2024, 3, 1))
    debit = make_line("-20.00", statement=statement, payer="Bank fee")
    summary = bank_match(as_of=date(2024, 3, 20))
    assert (summary["applied"], summary["review"], summary["unmatched"]) == (1, 1, 1)
    return {
        "statement": statement,
        "exact": exact,
        "short": short,
        "unknown": unknown,
        "debit": debit,
        "acme": acme,
        "other": other,
    }


def _open(number: str) -> int:
    return Invoice.objects.get(number=number).open_minor


def _status(line: BankStatementLine) -> str:
    return BankStatementLine.objects.get(pk=line.pk).status


def _ids(html: str) -> list[str]:
    return re.findall(r'\sid="([^"]+)"', html)


# --- the review queue -------------------------------------------------------------------------


def test_the_review_queue_shows_each_credit_with_its_proposal_confidence_and_reasons(client, book):
    response = client.get("/bank/")

    html = response.content.decode()
    assert response.status_code == 200
    row = html[html.index(f'id="bank-line-{book["short"].pk}"') :]
    row = row[: row.index("</tbody>")]
    proposal = MatchProposal.objects.get(line=book["short"])
    for text in ("600.00", "CNY", "Holding Finance", "CN99 0001", "INV-0042", "Acme Trading", "ACME"):
        assert text in row
    assert f"{proposal.confidence}% sure" in row
    assert all(str(reason) in row for reason in proposal.reasons)
    assert "Stranger" not in html and "Bank fee" not in html  # only credits waiting for review
    assert "1 credit waits for a decision." in html


def test_accepting_a_proposal_applies_it_and_answers_htmx_with_the_row_alone(client, book):
    line = book["short"]

    response = client.post(f"/bank/lines/{line.pk}/accept/", {"page": "review"}, headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tbody id="bank-line-{line.pk}"')
    assert "Applied to ACME: 600.00 CNY." in html
    assert "/customers/ACME/" in html and "Accept" not in html
    assert _status(line) == LineStatus.APPLIED
    assert _open("INV-0042") == 40_000  # 1,000.00 less 600.00
    payment = Payment.objects.get(external_id=f"bank-line:{line.pk}")
    assert (payment.customer_id, payment.amount_minor, payment.unapplied_minor) == (
        book["acme"].pk,
        60_000,
        0,
    )
    assert ShortPayment.objects.get(invoice__number="INV-0042").payment_id == payment.pk


def test_a_plain_post_redirects_back_to_the_list_with_a_message(client, book):
    response = client.post(
        f"/bank/lines/{book['short'].pk}/accept/", {"page": "review", "query": "page=1&evil=1"}
    )

    assert response.status_code == 303
    assert response["Location"] == "/bank/?page=1"
    page = client.get(response["Location"]).content.decode()
    assert "Applied to ACME: 600.00 CNY." in page
    assert "Nothing waits for review." in page


def test_applying_to_a_chosen_customer_and_invoices_changes_their_open_amounts(client, book):
    line = book["unknown"]

    response = client.post(
        f"/bank/lines/{line.pk}/apply/",
        {"page": "unmatched", "customer": "OTHER", "invoices": "INV-0050"},
        headers=HTMX,
    )

    assert response.status_code == 200
    assert "Applied to OTHER: 77.70 CNY." in response.content.decode()
    assert _open("INV-0050") == 30_000 - 7_770
    assert _open("INV-0042") == 100_000
    line.refresh_from_db()
    assert (line.status, line.customer_id, line.owner_id) == (LineStatus.APPLIED, book["other"].pk, None)


def test_changing_a_proposal_to_other_invoices_of_the_customer(client, book):
    # 600.00 to INV-0042 as well as INV-0043? INV-0043 is paid already: it goes to INV-0042.
    client.post(
        f"/bank/lines/{book['short'].pk}/apply/",
        {"customer": "ACME", "invoices": "INV-0043, INV-0042"},
        headers=HTMX,
    )

    assert _open("INV-0042") == 40_000 and _open("INV-0043") == 0


def test_a_split_records_a_payment_per_part_and_the_row_names_them(client, book):
    line = book["short"]

    response = client.post(
        f"/bank/lines/{line.pk}/split/",
        {"parts": "ACME INV-0042 400.00\nOTHER, INV-0050, 200.00\n"},
        headers=HTMX,
    )

    html = response.content.decode()
    assert "Split into 2 payments: ACME, OTHER." in html
    assert "/customers/ACME/" in html and "/customers/OTHER/" in html
    assert _open("INV-0042") == 60_000 and _open("INV-0050") == 10_000
    payments = Payment.objects.filter(external_id__startswith=f"bank-line:{line.pk}").order_by("pk")
    assert [(p.customer.code, p.amount_minor) for p in payments] == [("ACME", 40_000), ("OTHER", 20_000)]
    line.refresh_from_db()
    assert line.status == LineStatus.APPLIED and line.customer_id is None


def test_a_split_that_does_not_add_up_is_refused_beside_the_row_and_changes_nothing(client, book):
    line = book["short"]

    response = client.post(f"/bank/lines/{line.pk}/split/", {"parts": "ACME INV-0042 100.00"}, headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert"' in html and "add up to 100.00 CNY but the line is 600.00 CNY" in html
    assert re.search(r'<details class="bank-decide" open>', html)
    assert "ACME INV-0042 100.00" in html  # what was typed is kept
    assert _status(line) == LineStatus.REVIEW
    assert not Payment.objects.filter(external_id__startswith=f"bank-line:{line.pk}").exists()
    assert _open("INV-0042") == 100_000


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ("ACME", "Line 1 is not a customer code, invoice numbers and an amount"),
        ("ACME INV-0042 0", "Line 1 is not a customer code"),
        ("ACME INV-0042 600.001", "CNY amounts have at most 2 decimal places."),
        ("NOPE 600.00", "No customer has the code NOPE."),
    ],
)
def test_a_split_says_which_part_is_wrong(client, book, parts, message):
    response = client.post(f"/bank/lines/{book['short'].pk}/split/", {"parts": parts}, headers=HTMX)

    assert message in response.content.decode()
    assert _status(book["short"]) == LineStatus.REVIEW


def test_leaving_money_on_a_customers_account_applies_it_to_no_invoice(client, book):
    line = book["unknown"]

    response = client.post(
        f"/bank/lines/{line.pk}/on-account/", {"page": "unmatched", "customer": "OTHER"}, headers=HTMX
    )

    assert "Left on OTHER&#x27;s account: 77.70 CNY." in response.content.decode()
    payment = Payment.objects.get(external_id=f"bank-line:{line.pk}")
    assert (payment.customer.code, payment.unapplied_minor) == ("OTHER", 7_770)
    assert _open("INV-0050") == 30_000
    assert _status(line) == LineStatus.APPLIED


def test_excluding_a_line_needs_a_reason(client, book):
    line = book["unknown"]

    refused = client.post(f"/bank/lines/{line.pk}/exclude/", {"reason": " "}, headers=HTMX)
    assert "Say why the money is not a customer payment." in refused.content.decode()
    assert _status(line) == LineStatus.UNMATCHED

    done = client.post(f"/bank/lines/{line.pk}/exclude/", {"reason": "interest from the bank"}, headers=HTMX)

    assert "Set aside: not a customer payment." in done.content.decode()
    assert _status(line) == LineStatus.EXCLUDED
    assert not Payment.objects.exists() or not Payment.objects.filter(external_id=f"bank-line:{line.pk}")


def test_a_line_set_aside_by_mistake_is_put_back_into_review_from_its_row(client, book):
    line = book["unknown"]
    done = client.post(
        f"/bank/lines/{line.pk}/exclude/", {"page": "unmatched", "reason": "interest"}, headers=HTMX
    ).content.decode()
    assert f"/bank/lines/{line.pk}/reinstate/" in done

    response = client.post(f"/bank/lines/{line.pk}/reinstate/", {"page": "unmatched"}, headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200 and "Back in review." in html
    assert f"/bank/lines/{line.pk}/on-account/" in html  # decidable again
    assert _status(line) == LineStatus.REVIEW
    assert f'id="bank-line-{line.pk}"' in client.get("/bank/").content.decode()


def test_an_excluded_line_is_put_back_from_its_statement(client, book):
    line = book["unknown"]
    client.post(f"/bank/lines/{line.pk}/exclude/", {"reason": "interest"})
    detail = client.get(f"/bank/statements/{book['statement'].pk}/").content.decode()
    assert detail.count("/reinstate/") == 1

    response = client.post(f"/bank/lines/{line.pk}/reinstate/", {"page": "review"})

    assert response.status_code == 303 and response["Location"] == "/bank/"
    assert "Back in review." in client.get("/bank/").content.decode()
    assert _status(line) == LineStatus.REVIEW
    again = client.post(f"/bank/lines/{line.pk}/reinstate/", {"page": "review"}, headers=HTMX)
    assert "was not set aside" in again.content.decode()


def test_an_unknown_customer_is_named_and_a_plain_post_shows_the_list_again_with_the_error(client, book):
    line = book["short"]

    response = client.post(
        f"/bank/lines/{line.pk}/apply/", {"page": "review", "customer": "NOPE", "invoices": "INV-0042"}
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert "<h1>Payments to review</h1>" in html
    row = html[html.index(f'id="bank-line-{line.pk}"') :]
    assert "No customer has the code NOPE." in row[: row.index("</tbody>")]
    assert 'value="NOPE"' in row
    assert _status(line) == LineStatus.REVIEW


def test_a_service_refusal_is_shown_on_the_row(client, book):
    line = book["short"]

    response = client.post(
        f"/bank/lines/{line.pk}/apply/", {"customer": "OTHER", "invoices": "INV-0042"}, headers=HTMX
    )

    assert "belongs to another customer" in response.content.decode()
    assert _status(line) == LineStatus.REVIEW and not Payment.objects.filter(customer=book["other"])


def test_a_line_already_applied_cannot_be_applied_again(client, book):
    response = client.post(f"/bank/lines/{book['exact'].pk}/accept/", headers=HTMX)

    html = response.content.decode()
    assert "is already applied" in html and 'role="alert"' in html
    assert Payment.objects.filter(external_id__startswith=f"bank-line:{book['exact'].pk}").count() == 1


def test_an_unknown_line_or_decision_is_not_found(client, book):
    assert client.post("/bank/lines/999999/accept/").status_code == 404
    assert client.post(f"/bank/lines/{book['short'].pk}/pay-twice/").status_code == 404
    assert client.get(f"/bank/lines/{book['short'].pk}/accept/").status_code == 405


def test_every_form_on_the_page_has_ids_of_its_own(client, book):
    make_line("12.00", statement=book["statement"], payer="Another stranger", status=LineStatus.UNMATCHED)

    html = client.get("/bank/unmatched/").content.decode()

    repeated = [element_id for element_id, count in Counter(_ids(html)).items() if count > 1]
    assert repeated == []
    assert f'id="line{book["unknown"].pk}-apply-customer"' in html


# --- unapplied cash, statements, matching ------------------------------------------------------


def test_unapplied_cash_shows_age_owner_and_totals_per_currency(client, controller, book):
    usd = make_statement(currency="USD")
    make_line("10.00", statement=usd, payer="Far away", status=LineStatus.UNMATCHED)
    age = (timezone.localdate() - date(2024, 3, 1)).days

    html = client.get("/bank/unmatched/").content.decode()

    assert "Stranger" in html and "Far away" in html
    assert f"{age:,}".replace(",", "") in html.replace(",", "") and "days" in html
    assert "Chen Controller" in html  # the owner
    assert "77.70 CNY" in html and "10.00 USD" in html
    mine = client.get("/bank/unmatched/", {"mine": "on"}).content.decode()
    assert "Stranger" in mine and "Far away" not in mine  # the USD line has no owner


def test_statements_are_listed_and_a_statements_lines_link_applied_money_to_the_customer(client, book):
    statement = book["statement"]
    line_split(
        line=book["short"],
        parts=[
            (book["acme"], ["INV-0042"], Money.of("500", "CNY")),
            (book["other"], [], Money.of("100", "CNY")),
        ],
    )

    listing = client.get("/bank/statements/").content.decode()
    detail = client.get(f"/bank/statements/{statement.pk}/").content.decode()

    assert statement.identification in listing and f"/bank/statements/{statement.pk}/" in listing
    assert statement.account.name in listing and statement.account.account_number in listing
    assert '<td class="num">4</td>' in listing  # its lines
    for text in ("Acme Trading Ltd", "Stranger", "Bank fee", "-20.00", "money out", "unapplied cash"):
        assert text in detail
    exact_row = detail[detail.index(f'id="bank-line-{book["exact"].pk}"') :]
    assert 'href="/customers/ACME/"' in exact_row[: exact_row.index("</tr>")]
    split_row = detail[detail.index(f'id="bank-line-{book["short"].pk}"') :]
    split_row = split_row[: split_row.index("</tr>")]
    assert 'href="/customers/ACME/"' in split_row and 'href="/customers/OTHER/"' in split_row
    assert client.get("/bank/statements/999999/").status_code == 404


def test_run_matching_from_the_page_shows_its_summary(client, book):
    make_line("300.00", statement=book["statement"], payer="Other Ltd", remittance="INV-0050")
    make_line("5.00", statement=book["statement"], payer="Nobody known")

    response = client.post("/bank/match/", follow=True)

    html = response.content.decode()
    assert response.redirect_chain == [("/bank/", 303)]
    assert "2 credits matched: 1 applied, 0 to review, 1 unapplied cash." in html
    assert "Applied: 300.00 CNY." in html
    assert _open("INV-0050") == 0


def test_run_matching_with_nothing_new_says_so(client, book):
    html = client.post("/bank/match/", follow=True).content.decode()

    assert "There were no new credits to match." in html


# --- who may see, who may act ------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.COLLECTOR, Role.SALES_REP])
def test_collectors_and_sales_reps_do_not_reach_the_bank_pages(book, role):
    client = signed_in_client(make_user("someone", role))
    line = book["short"]

    for url in (
        "/bank/",
        "/bank/unmatched/",
        "/bank/statements/",
        f"/bank/statements/{book['statement'].pk}/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/bank/lines/{line.pk}/accept/").status_code == 404
    assert client.post("/bank/match/").status_code == 404
    assert 'href="/bank/"' not in client.get("/aging/").content.decode()
    assert _status(line) == LineStatus.REVIEW


def test_auditors_read_everything_but_have_no_actions_and_are_refused_changes(book):
    client = signed_in_client(make_user("audit", Role.AUDITOR))

    review = client.get("/bank/").content.decode()
    unmatched = client.get("/bank/unmatched/").content.decode()

    assert "Holding Finance" in review and "Stranger" in unmatched
    for html in (review, unmatched):
        assert '<form method="post" action="/bank/' not in html
        assert "Run matching" not in html and "Accept" not in html
    assert 'href="/bank/"' in review  # the navigation entry
    assert client.post(f"/bank/lines/{book['short'].pk}/accept/").status_code == 403
    assert client.post(f"/bank/lines/{book['unknown'].pk}/exclude/", {"reason": "x"}).status_code == 403
    assert client.post(f"/bank/lines/{book['unknown'].pk}/reinstate/").status_code == 403
    assert client.post("/bank/match/").status_code == 403
    assert _status(book["short"]) == LineStatus.REVIEW and _status(book["unknown"]) == LineStatus.UNMATCHED


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_managers_and_administrators_decide_too(book, role):
    client = signed_in_client(make_user("boss", role))

    response = client.post(f"/bank/lines/{book['short'].pk}/accept/", headers=HTMX)

    assert response.status_code == 200 and _status(book["short"]) == LineStatus.APPLIED


def test_anonymous_visitors_are_sent_to_sign_in(book):
    response = Client().get("/bank/")

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_navigation_leads_controllers_to_the_bank(client):
    html = client.get("/aging/").content.decode()

    assert '<a href="/bank/">Bank</a>' in html


# --- queries ----------------------------------------------------------------------------------


def _review_lines(count: int, customer, statement) -> None:
    for n in range(count):
        line = make_line(
            "10.00", statement=statement, payer=f"Payer {n}", remittance=f"INV-{n}", status=LineStatus.REVIEW
        )
        MatchProposal.objects.create(
            line=line,
            customer=customer,
            invoices=[{"number": "INV-0042", "amount": "10.00"}],
            confidence=60,
            reasons=["invoice number INV-0042 in the remittance text"],
        )


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_review_queue_takes_the_same_queries_for_3_or_30_lines(client, controller):
    customer = make_customer("ACME", name="Acme Trading", collector=controller)
    make_invoice(customer, "1000.00", number="INV-0042")
    statement = make_statement()
    _review_lines(3, customer, statement)
    few = _queries(client, "/bank/")
    _review_lines(27, customer, statement)
    many = _queries(client, "/bank/")

    assert many == few <= 8


def test_unapplied_cash_takes_the_same_queries_for_3_or_30_lines(client, controller):
    statement = make_statement()

    def add(count: int) -> None:
        for n in range(count):
            line = make_line("5.00", statement=statement, payer=f"P{n}", status=LineStatus.UNMATCHED)
            BankStatementLine.objects.filter(pk=line.pk).update(owner=controller)

    add(3)
    few = _queries(client, "/bank/unmatched/")
    add(27)
    many = _queries(client, "/bank/unmatched/")

    assert many == few <= 8


def test_statements_and_a_statements_lines_take_the_same_queries_for_3_or_30(client):
    customer = make_customer("ACME", name="Acme Trading")
    other = make_customer("OTHER", name="Other Ltd")
    make_invoice(customer, "100000.00", number="INV-0042")
    statement = make_statement()

    def add(count: int) -> None:
        for n in range(count):
            make_statement(statement.account)
            applied = make_line("10.00", statement=statement, payer=f"P{n}", status=LineStatus.REVIEW)
            line_split(
                line=applied,
                parts=[(customer, ["INV-0042"], Money.of("6", "CNY")), (other, [], Money.of("4", "CNY"))],
            )
            make_line("-1.00", statement=statement, payer=f"Fee {n}")
            make_line("2.00", statement=statement, payer=f"Q{n}", status=LineStatus.UNMATCHED)

    add(1)
    few = (_queries(client, "/bank/statements/"), _queries(client, f"/bank/statements/{statement.pk}/"))
    add(9)
    many = (_queries(client, "/bank/statements/"), _queries(client, f"/bank/statements/{statement.pk}/"))

    assert many == few
    assert max(many) <= 8


def test_ages_count_from_the_booking_date(client, controller):
    statement = make_statement()
    make_line(
        "1.00",
        statement=statement,
        booking_date=timezone.localdate() - timedelta(days=3),
        status=LineStatus.UNMATCHED,
    )

    html = client.get("/bank/unmatched/").content.decode()

    assert "3 days" in html
