"""The pure matching rules: number keys, tokens, payer names, subset sums and the weighing."""

from datetime import date

import pytest

from huikuan.banking.matching import (
    AmountFit,
    CandidateCustomer,
    CreditFacts,
    InvoiceRef,
    LineDecision,
    OpenInvoice,
    PayerEvidence,
    charges_tolerance,
    decision_for,
    names_alike,
    payer_name_key,
    proposal_make,
    reference_key,
    reference_keys,
    reference_tokens,
    references_find,
    subset_sum,
)

# --- number keys ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "INV-2024-0012",
        "inv-2024-0012",
        "2024-0012",
        "20240012",
        "INV20240012",
        "INV 2024 0012",
        "INV.2024.0012",
        "INV/2024/0012",
        "ＩＮＶ－２０２４－００１２",
        "２０２４００１２",
    ],
)
def test_mangled_forms_of_a_number_share_its_canonical_key(written):
    assert reference_key(written) == reference_key("INV-2024-0012") == "20240012"


@pytest.mark.parametrize("written", ["INV-2024-12", "2024-012", "inv 2024.00012", "2024/12"])
def test_zero_padding_inside_a_number_is_forgiven_where_a_separator_shows_the_groups(written):
    assert set(reference_keys(written)) & set(reference_keys("INV-2024-0012"))


def test_zero_padding_of_a_plain_number_does_not_change_its_key():
    assert reference_key("INV-12") == reference_key("INV-0012") == reference_key("inv12") == "12"


def test_different_numbers_have_different_keys():
    assert not set(reference_keys("INV-2024-0012")) & set(reference_keys("INV-2024-0013"))
    assert not set(reference_keys("INV-2024-0012")) & set(reference_keys("INV-2023-0012"))


def test_a_value_without_digits_has_no_key():
    assert reference_keys("INVOICE") == ()
    assert reference_keys("") == ()


# --- tokens and hits --------------------------------------------------------------------------


def _index(*numbers: str, customer_id: int = 1, currency: str = "CNY") -> dict[str, list[InvoiceRef]]:
    index: dict[str, list[InvoiceRef]] = {}
    for pk, number in enumerate(numbers, start=customer_id * 100):
        for key in reference_keys(number):
            index.setdefault(key, []).append(InvoiceRef(pk, number, customer_id, currency))
    return index


def _found(text: str, index, structured: str = "") -> dict[str, bool]:
    return {
        hit.invoice.number: hit.exact for hit in references_find(reference_tokens(text, structured), index)
    }


def test_several_invoice_numbers_in_one_chinese_remittance_text_are_all_found():
    index = _index("INV-2024-0012", "INV-2024-0013", "INV-2024-0099")

    found = _found("货款 发票号：ＩＮＶ－２０２４－００１２，INV 2024 0013 谢谢", index)

    assert found == {"INV-2024-0012": True, "INV-2024-0013": True}


def test_a_number_without_its_prefix_is_found_loosely():
    found = _found("payment 2024-0012 thanks", _index("INV-2024-0012"))

    assert found == {"INV-2024-0012": False}


def test_a_short_number_is_found_only_with_its_prefix():
    index = _index("INV-12")

    assert _found("INV-0012 paid", index) == {"INV-12": True}
    assert _found("12 boxes delivered on the 12th", index) == {}


def test_amounts_and_dates_in_the_text_do_not_name_an_invoice_with_a_short_key():
    assert _found("paid 1,234.50 on 2024-03-01", _index("INV-1234", "INV-2024")) == {}


def test_a_list_of_numbers_written_with_slashes_names_each_of_them():
    index = _index("INV-202502-00319", "INV-202601-00525")

    found = _found("发票号：INV-202502-00319/INV-202601-00525", index)

    assert found == {"INV-202502-00319": True, "INV-202601-00525": True}


def test_a_creditor_reference_names_the_invoice_it_carries():
    found = _found("", _index("2024001234"), structured="RF71 2024 0012 34")

    assert found == {"2024001234": True}


def test_a_token_naming_invoices_of_two_customers_finds_both():
    index = _index("INV-0001-55555", customer_id=1)
    for key, refs in _index("CN-0001-55555", customer_id=2).items():
        index.setdefault(key, []).extend(refs)

    hits = references_find(reference_tokens("0001-55555"), index)

    assert {hit.invoice.customer_id for hit in hits} == {1, 2}


# --- payer names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("ACME Trading Co., Ltd.", "ACME TRADING"),
        ("Acme Trading Company Limited", "ACME TRADING"),
        ("acme trading co ltd", "ACME TRADING"),
        ("Müller GmbH & Co. KG", "MÜLLER"),
        ("上海某某贸易有限公司", "上海某某贸易"),
        ("上海某某贸易股份有限公司", "上海某某贸易"),
        ("上海 某某 贸易 有限责任公司", "上海某某贸易"),
        ("Company", "COMPANY"),
    ],
)
def test_payer_names_lose_case_punctuation_and_company_suffixes(name, key):
    assert payer_name_key(name) == key


def test_names_alike_forgive_word_order_and_a_region_in_brackets():
    assert names_alike(payer_name_key("上海某某贸易有限公司"), payer_name_key("某某贸易（上海）有限公司"))
    assert names_alike(payer_name_key("ACME Trading"), payer_name_key("ACME Tradng Co Ltd"))
    assert not names_alike(payer_name_key("ACME Trading"), payer_name_key("Zenith Foods"))
    assert not names_alike("", "ACME")


# --- subset sums ------------------------------------------------------------------------------


def test_subset_sum_prefers_the_combination_settling_the_oldest_invoices():
    items = [("old", 300), ("mid", 200), ("new", 100)]

    assert subset_sum(items, 300) == ("old",)
    assert subset_sum(items, 400) == ("old", "new")
    assert subset_sum(items, 600) == ("old", "mid", "new")


def test_subset_sum_prefers_an_exact_sum_to_one_within_the_charges_tolerance():
    items = [("a", 1005), ("b", 1000)]

    assert subset_sum(items, 1000, tolerance_minor=10) == ("b",)
    assert subset_sum(items, 995, tolerance_minor=10) == ("a",)
    assert subset_sum(items, 980, tolerance_minor=10) is None


def test_subset_sum_considers_only_the_oldest_invoices_up_to_its_cap():
    items = [(n, 1_000_000 + n) for n in range(30)]
    target = 2_000_052  # two invoices whose positions add up to 52: (23, 29), (24, 28) ...

    assert subset_sum(items, target) is None  # only the 20 oldest invoices are considered
    assert subset_sum(items, target, max_items=30, max_steps=100_000) == (23, 29)


def test_subset_sum_out_of_search_steps_still_returns_a_fitting_combination():
    items = [(n, 1_000_000 + n) for n in range(30)]

    found = subset_sum(items, 2_000_052, max_items=30, max_steps=10)

    assert found is not None and len(found) == 2 and sum(found) == 52


def test_charges_tolerance_is_a_share_of_the_credit_with_a_cap():
    assert charges_tolerance(100_000, percent=2, cap_minor=5000) == 2000
    assert charges_tolerance(1_000_000, percent="2", cap_minor=5000) == 5000
    assert charges_tolerance(100_000, percent=0, cap_minor=5000) == 0


# --- weighing ---------------------------------------------------------------------------------

DUE = date(2024, 2, 1)


def _customer(customer_id: int, *invoices: tuple[str, int], name: str = "", currency: str = "CNY"):
    return CandidateCustomer(
        customer_id=customer_id,
        label=f"C{customer_id}",
        name_keys=(payer_name_key(name),) if name else (),
        open_invoices=[
            OpenInvoice(customer_id * 100 + n, number, currency, minor, date(2024, 1, n + 1))
            for n, (number, minor) in enumerate(invoices)
        ],
    )


def _propose(
    amount: int, text: str, customers, *, payer: PayerEvidence | None = None, name: str = "", tolerance=0
):
    index: dict[str, list[InvoiceRef]] = {}
    for customer in customers:
        for invoice in customer.open_invoices:
            for key in reference_keys(invoice.number):
                index.setdefault(key, []).append(
                    InvoiceRef(invoice.invoice_id, invoice.number, customer.customer_id, invoice.currency)
                )
    credit = CreditFacts(
        amount_minor=amount,
        currency="CNY",
        payer_name_key=payer_name_key(name),
        payer_name=name,
        payer_account_key="ACC1" if payer and payer.account_aliases else "",
        payer_account="ACC1",
        tolerance_minor=tolerance,
    )
    hits = references_find(reference_tokens(text), index)
    return proposal_make(
        credit, hits, payer or PayerEvidence(), {customer.customer_id: customer for customer in customers}
    )


def test_an_invoice_named_with_its_exact_amount_is_applied_with_high_confidence():
    proposal = _propose(10_000, "INV-0001 payment", [_customer(1, ("INV-0001", 10_000), ("INV-0002", 5_000))])

    assert proposal is not None
    assert (proposal.customer_id, proposal.invoices, proposal.amount_fit) == (
        1,
        (("INV-0001", 10_000),),
        AmountFit.REFERENCED,
    )
    assert proposal.confidence >= 90
    assert decision_for(proposal, threshold=90) == LineDecision.APPLY
    assert any("INV-0001" in reason for reason in proposal.reasons)


def test_an_invoice_named_without_prefix_and_exact_amount_is_still_applied():
    proposal = _propose(10_000, "货款 2024060001", [_customer(1, ("INV-202406-0001", 10_000))])

    assert proposal is not None and proposal.confidence >= 90


def test_several_invoices_named_in_one_transfer_are_all_proposed_oldest_first():
    customer = _customer(1, ("INV-0001", 10_000), ("INV-0002", 5_000), ("INV-0003", 7_000))

    proposal = _propose(15_000, "INV-0002 / INV-0001", [customer])

    assert proposal is not None
    assert proposal.invoice_numbers == ["INV-0001", "INV-0002"]
    assert proposal.amount_fit == AmountFit.REFERENCED


def test_bank_charges_within_the_tolerance_still_pay_the_invoices_named():
    proposal = _propose(9_985, "INV-0001", [_customer(1, ("INV-0001", 10_000))], tolerance=50, name="")

    assert proposal is not None
    assert proposal.amount_fit == AmountFit.REFERENCED_CHARGES
    assert proposal.invoices == (("INV-0001", 9_985),)
    assert any("bank charges" in reason for reason in proposal.reasons)


def test_a_short_payment_of_a_named_invoice_by_a_known_payer_is_applied():
    payer = PayerEvidence(name_customers=frozenset({1}))

    proposal = _propose(
        6_000, "INV-0001", [_customer(1, ("INV-0001", 10_000), name="ACME")], payer=payer, name="ACME"
    )

    assert proposal is not None
    assert proposal.amount_fit == AmountFit.SHORT
    assert decision_for(proposal, threshold=90) == LineDecision.APPLY


def test_a_short_payment_by_an_unknown_payer_waits_for_review():
    proposal = _propose(6_000, "INV-0001", [_customer(1, ("INV-0001", 10_000))])

    assert proposal is not None
    assert decision_for(proposal, threshold=90) == LineDecision.REVIEW


def test_a_known_account_paying_exactly_one_invoice_without_reference_is_applied():
    payer = PayerEvidence(account_aliases={1: 1})

    proposal = _propose(5_000, "", [_customer(1, ("INV-0001", 10_000), ("INV-0002", 5_000))], payer=payer)

    assert proposal is not None
    assert (proposal.invoice_numbers, proposal.amount_fit) == (["INV-0002"], AmountFit.ONE)
    assert decision_for(proposal, threshold=90) == LineDecision.APPLY


def test_a_payer_only_resembling_the_customer_paying_one_invoice_waits_for_review():
    customer = _customer(1, ("INV-0001", 10_000), ("INV-0002", 5_000), name="Acme Trading Co Ltd")

    proposal = _propose(
        5_000, "", [customer], payer=PayerEvidence(account_aliases={1: 1}), name="Acme Tradng"
    )
    alike = _propose(5_000, "", [customer], payer=PayerEvidence(), name="Acme Tradng")

    assert proposal is not None and decision_for(proposal, threshold=90) == LineDecision.APPLY
    assert alike is None  # a name only alike does not make a customer a candidate


def test_a_known_account_and_name_paying_a_combination_are_applied():
    payer = PayerEvidence(account_aliases={1: 3}, name_aliases={1: 3})
    customer = _customer(1, ("INV-0001", 10_000), ("INV-0002", 5_000), ("INV-0003", 2_500))

    proposal = _propose(12_500, "", [customer], payer=payer, name="ACME")

    assert proposal is not None
    assert (proposal.invoice_numbers, proposal.amount_fit) == (
        ["INV-0001", "INV-0003"],
        AmountFit.COMBINATION,
    )
    assert decision_for(proposal, threshold=90) == LineDecision.APPLY


def test_an_invoice_of_another_currency_is_not_paid_by_the_credit():
    customer = _customer(1, ("INV-0001", 10_000), currency="USD")

    proposal = _propose(10_000, "INV-0001", [customer])

    assert proposal is not None
    assert proposal.invoices == ()
    assert decision_for(proposal, threshold=90) != LineDecision.APPLY
    assert any("USD" in reason for reason in proposal.reasons)


def test_two_customers_fitting_equally_leave_the_line_for_review():
    payer = PayerEvidence(name_aliases={1: 1, 2: 1})
    customers = [_customer(1, ("INV-0001", 10_000)), _customer(2, ("INV-0002", 10_000))]

    proposal = _propose(10_000, "", customers, payer=payer, name="Parent Group")

    assert proposal is not None
    assert proposal.confidence < 90
    assert any("fits too" in reason for reason in proposal.reasons)


def test_a_typo_naming_another_customers_invoice_is_outweighed_by_a_known_payer():
    payer = PayerEvidence(account_aliases={1: 4}, name_aliases={1: 4})
    customers = [_customer(1, ("INV-0001", 10_000)), _customer(2, ("INV-0010", 3_000))]

    proposal = _propose(10_000, "INV-0010", customers, payer=payer, name="ACME")

    assert proposal is not None
    assert proposal.customer_id == 1


def test_nobody_to_weigh_makes_no_proposal():
    assert _propose(10_000, "interest 2024", [_customer(1, ("INV-0001", 10_000))]) is None
    assert decision_for(None, threshold=90) == LineDecision.UNMATCHED


def test_a_proposal_naming_no_invoice_is_never_applied_automatically():
    payer = PayerEvidence(account_aliases={1: 9}, name_aliases={1: 9})

    proposal = _propose(12_345, "", [_customer(1, ("INV-0001", 10_000))], payer=payer, name="ACME")

    assert proposal is not None and proposal.invoices == ()
    assert decision_for(proposal, threshold=50) == LineDecision.REVIEW
