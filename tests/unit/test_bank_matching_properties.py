"""Properties of the matching rules: number keys survive mangling, subset sums are right and found."""

from hypothesis import assume, given
from hypothesis import strategies as st

from huikuan.banking.matching import (
    InvoiceRef,
    reference_keys,
    reference_tokens,
    references_find,
    subset_sum,
)

PREFIXES = st.sampled_from(["INV", "FP", "HK", "SO", "INVOICE", "A"])
SEPARATORS = st.sampled_from(["-", ".", "/", " ", "_"])
FULL_WIDTH = str.maketrans({chr(code): chr(code + 0xFEE0) for code in range(0x21, 0x7F)} | {" ": "\u3000"})


@st.composite
def invoice_numbers(draw) -> tuple[str, str, list[str]]:
    """A number as issued: (prefix, separator, digit groups), e.g. ("INV", "-", ["2024", "0012"])."""
    prefix = draw(PREFIXES)
    separator = draw(st.sampled_from(["-", "/", "."]))
    groups = draw(
        st.lists(st.text("0123456789", min_size=1, max_size=6), min_size=1, max_size=3).filter(
            lambda groups: any(ch != "0" for ch in "".join(groups))
        )
    )
    return prefix, separator, groups


def _written(prefix: str, separator: str, groups: list[str]) -> str:
    return prefix + separator + separator.join(groups)


@given(
    invoice_numbers(),
    st.booleans(),
    st.booleans(),
    SEPARATORS,
    st.booleans(),
    st.integers(0, 3),
    st.booleans(),
)
def test_a_mangled_number_shares_a_key_with_the_number(
    number, drop_prefix, lower, separator, full_width, padding, repad
):
    """Prefix dropped, case changed, other separators, full-width, zero padding changed in a group."""
    prefix, issued_separator, groups = number
    mangled_groups = list(groups)
    if repad:
        mangled_groups = [("0" * padding + group.lstrip("0")) or "0" for group in groups]
    written = _written("" if drop_prefix else prefix, separator, mangled_groups)
    if lower:
        written = written.lower()
    if full_width:
        written = written.translate(FULL_WIDTH)

    assert set(reference_keys(written)) & set(reference_keys(_written(prefix, issued_separator, groups)))


@given(invoice_numbers(), st.booleans())
def test_a_number_written_without_separators_has_its_canonical_key(number, drop_prefix):
    prefix, separator, groups = number
    issued = _written(prefix, separator, groups)
    written = ("" if drop_prefix else prefix) + "".join(groups)

    assert reference_keys(written)[0] == reference_keys(issued)[0]


@given(
    invoice_numbers(),
    st.text(" ,;。，货款付发票号thanksINVOICE", max_size=12),
    st.text(" ,;。，谢谢", max_size=6),
)
def test_a_number_written_with_its_prefix_inside_a_text_is_found(number, before, after):
    prefix, separator, groups = number
    issued = _written(prefix, separator, groups)
    index: dict[str, list[InvoiceRef]] = {}
    for key in reference_keys(issued):
        index.setdefault(key, []).append(InvoiceRef(1, issued, 7, "CNY"))
    # A letter right before the prefix would make it another word ("XINV-12"), not this number.
    assume(not before[-1:].isalnum())

    hits = references_find(reference_tokens(f"{before} {issued}{after}"), index)

    assert [hit.invoice.number for hit in hits] == [issued]
    assert hits[0].exact


AMOUNTS = st.lists(st.integers(1, 10_000_000), min_size=1, max_size=12)


@given(AMOUNTS, st.integers(1, 50_000_000), st.integers(0, 5_000))
def test_any_combination_found_sums_to_the_credit_within_the_tolerance(amounts, target, tolerance):
    items = list(enumerate(amounts))

    found = subset_sum(items, target, tolerance_minor=tolerance)

    if found is not None:
        assert len(set(found)) == len(found)
        assert target <= sum(amounts[key] for key in found) <= target + tolerance


@given(AMOUNTS, st.data(), st.integers(0, 5_000))
def test_a_planted_combination_within_the_bounds_is_found(amounts, data, tolerance):
    planted = data.draw(st.sets(st.integers(0, len(amounts) - 1), min_size=1))
    owed = sum(amounts[index] for index in planted)
    short = data.draw(st.integers(0, min(tolerance, owed - 1)))

    found = subset_sum(list(enumerate(amounts)), owed - short, tolerance_minor=tolerance, max_steps=2**14)

    assert found is not None
    assert owed - short <= sum(amounts[key] for key in found) <= owed - short + tolerance


@given(AMOUNTS, st.data(), st.integers(1, 5_000))
def test_an_exact_combination_is_preferred_to_one_within_the_tolerance(amounts, data, tolerance):
    planted = data.draw(st.sets(st.integers(0, len(amounts) - 1), min_size=1))
    owed = sum(amounts[index] for index in planted)

    found = subset_sum(list(enumerate(amounts)), owed, tolerance_minor=tolerance, max_steps=2**14)

    assert found is not None
    assert sum(amounts[key] for key in found) == owed


@given(st.lists(st.integers(1, 10_000_000), min_size=21, max_size=200), st.integers(1, 10**9))
def test_only_the_oldest_invoices_up_to_the_cap_are_considered(amounts, target):
    found = subset_sum(list(enumerate(amounts)), target, max_steps=500)

    if found is not None:
        assert all(key < 20 for key in found)
        assert sum(amounts[key] for key in found) == target
