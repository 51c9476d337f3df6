"""Matching a bank credit to open invoices: the pure rules, with no database.

Invoice numbers reach the bank mangled: without their prefix ("2024-0012" for "INV-2024-0012"),
with other separators or none ("20240012", "2024.0012"), with zero padding added or dropped
("INV-12" for "INV-0012"), in another case, in full-width characters from a Chinese keyboard
("ＩＮＶ－２０２４－００１２，…"). :func:`reference_keys` maps a number and each of its mangled forms
to the same short keys, so that finding the invoices a remittance text names is a dictionary
lookup per candidate token, never a fuzzy scan over the open invoices.

Payer names are compared by :func:`payer_name_key` (case, punctuation and company suffixes such
as "Co., Ltd", "GmbH" or "有限公司" dropped). :func:`subset_sum` finds which of one customer's open
invoices a round sum pays, within a fixed effort. :func:`proposal_make` weighs the evidence for
each candidate customer and returns a proposal with a confidence from 0 to 100 and its reasons.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple, TypeVar

from django.utils.translation import gettext as _

from huikuan.core.money import format_minor

K = TypeVar("K")

# A number found only through its digits (no prefix) must have at least this many characters in
# its key; shorter ones ("12", "2024") turn up in every text as amounts, dates and house numbers.
MIN_LOOSE_KEY_LENGTH = 5
# A number found without its prefix by a key this long is hardly chance (a date has 8 digits,
# but then the amount must fit too).
LONG_KEY_LENGTH = 8
# How much of a remittance text is read, and how many of its pieces; real texts are far shorter.
MAX_TEXT_CHARS = 1000
MAX_PIECES = 80
# Pieces separated only by spaces, "#" or ":" are also tried joined, up to this many at a time,
# for numbers typed with spaces ("INV 2024 0012") or after a label ("No: 2024-0012").
MAX_JOINED_PIECES = 3
# A piece with separators ("INV-2024-0012/INV-2024-0013") is also read in runs of up to this many
# of its parts, so that a list written with slashes is found number by number.
MAX_PIECE_PARTS = 4
# Subset sums consider a customer's oldest-due invoices up to this count, and stop after this
# many search steps, so that a customer with hundreds of open invoices costs no more than one
# with twenty.
MAX_SUBSET_ITEMS = 20
# A payer name shared by more customers than this makes none of them a candidate by itself.
MAX_NAME_CANDIDATES = 5
MAX_SUBSET_STEPS = 2_000

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_NOT_ALNUM = re.compile(r"[^0-9A-Z]+")
_GROUPS = re.compile(r"[0-9]+|[A-Z]+")
_PIECE = re.compile(r"[0-9A-Z]+(?:[-./_\\][0-9A-Z]+)*")
_JOINABLE_GAP = re.compile(r"[ #:]*")
_PART = re.compile(r"[0-9A-Z]+")
_DIGIT = re.compile(r"[0-9]")
# ISO 11649 creditor reference: RF, two check digits, then the reference itself.
_CREDITOR_REFERENCE = re.compile(r"^RF[0-9]{2}([0-9A-Z]{1,21})$")


def text_normalise(text: str) -> str:
    """Return the text in NFKC (full-width letters, digits and punctuation made plain) upper case."""
    if not text:
        return ""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return text.upper()


# --- invoice numbers ------------------------------------------------------------------------


def reference_compact(value: str) -> str:
    """Return the number's letters and digits only, upper case: "inv-2024/0012" → "INV20240012"."""
    return _NOT_ALNUM.sub("", text_normalise(value))


def reference_prefix(value: str) -> str:
    """Return the letters a number starts with ("INV" for "INV-2024-0012"; "" for "2024-0012")."""
    compact = reference_compact(value)
    return compact[: len(compact) - len(compact.lstrip(_LETTERS))]


def reference_keys(value: str) -> tuple[str, ...]:
    """Return the keys under which an invoice number, or a token that may be one, is looked up.

    The first key is the canonical one: letters and digits only, upper case, the letter prefix
    dropped and leading zeros stripped ("INV-2024-0012", "2024-0012", "20240012" → "20240012").
    When the number has several groups, a second key strips the zeros of each group and keeps
    them apart ("INV-2024-0012", "2024-12", "inv 2024.012" → "2024-12"), so that zero padding
    inside the number is forgiven as long as a separator shows where the groups are. A value
    without digits has no keys.
    """
    groups = _GROUPS.findall(text_normalise(value))
    start = 0
    while start < len(groups) and groups[start][0] in _LETTERS:
        start += 1
    if start == len(groups):
        return ()
    body = groups[start:]
    canonical = "".join(body).lstrip("0") or "0"
    if len(body) < 2:
        return (canonical,)
    segmented = "-".join([(group.lstrip("0") or "0") if group[0].isdigit() else group for group in body])
    return (canonical, segmented)


def reference_key(value: str) -> str:
    """Return the canonical key of a number ("" when it has no digits); see :func:`reference_keys`."""
    keys = reference_keys(value)
    return keys[0] if keys else ""


class ReferenceToken(NamedTuple):
    """A piece of a remittance text or structured reference that may be an invoice number."""

    text: str  # as found, normalised: "INV 2024 0012"
    compact: str  # "INV20240012"
    prefix: str  # "INV"
    keys: tuple[str, ...]
    structured: bool = False  # from the structured reference rather than the free text


def _token(text: str, *, structured: bool) -> ReferenceToken | None:
    if not _DIGIT.search(text):
        return None
    keys = reference_keys(text)
    if not keys:
        return None
    compact = _NOT_ALNUM.sub("", text)
    prefix = compact[: len(compact) - len(compact.lstrip(_LETTERS))]
    return ReferenceToken(text=text, compact=compact, prefix=prefix, keys=keys, structured=structured)


def _tokens_of(text: str, *, structured: bool) -> Iterable[ReferenceToken]:
    text = text_normalise(text)[:MAX_TEXT_CHARS]
    pieces = list(_PIECE.finditer(text))[:MAX_PIECES]
    for piece in pieces:
        # "INV-2024-0012/INV-2024-0013" is a list as often as one number: try its runs of parts too.
        if "/" not in piece.group() and "\\" not in piece.group():
            continue
        parts = list(_PART.finditer(piece.group()))
        if len(parts) < 3:
            continue
        for start in range(len(parts)):
            for end in range(start + 1, min(len(parts), start + MAX_PIECE_PARTS) + 1):
                if end - start == len(parts):
                    continue
                sub = piece.group()[parts[start].start() : parts[end - 1].end()]
                token = _token(sub, structured=structured)
                if token is not None:
                    yield token
    for start in range(len(pieces)):
        for count in range(1, MAX_JOINED_PIECES + 1):
            end = start + count
            if end > len(pieces):
                break
            if count > 1:
                gap = text[pieces[end - 2].end() : pieces[end - 1].start()]
                if not _JOINABLE_GAP.fullmatch(gap):
                    break
            token = _token(text[pieces[start].start() : pieces[end - 1].end()], structured=structured)
            if token is not None:
                yield token


def reference_tokens(remittance: str, structured_reference: str = "") -> list[ReferenceToken]:
    """Return every token of the texts that may be an invoice number, each once (structured first).

    An ISO 11649 creditor reference ("RF18 5390 0754 7034") is also read without its "RFnn"; a
    27-digit Swiss QR reference also without its check digit.
    """
    found: dict[str, ReferenceToken] = {}
    structured = text_normalise(structured_reference).strip()
    extra: list[str] = []
    compact = _NOT_ALNUM.sub("", structured)
    creditor = _CREDITOR_REFERENCE.match(compact)
    if creditor:
        extra.append(creditor.group(1))
    if compact.isdigit() and len(compact) == 27:
        extra.append(compact[:-1])
    for text, is_structured in ((structured, True), *((e, True) for e in extra), (remittance, False)):
        for token in _tokens_of(text, structured=is_structured):
            found.setdefault(token.text, token)
    return list(found.values())


def token_keys(tokens: Iterable[ReferenceToken]) -> set[str]:
    """Return every key the tokens may be found under."""
    return {key for token in tokens for key in token.keys}


class InvoiceRef(NamedTuple):
    """An open invoice as the number index knows it."""

    invoice_id: int
    number: str
    customer_id: int
    currency: str
    keys: tuple[str, ...] = ()  # reference_keys(number), when already known
    prefix: str = ""

    @classmethod
    def of(cls, invoice_id: int, number: str, customer_id: int, currency: str) -> InvoiceRef:
        """Return the invoice with its number's keys and prefix worked out once."""
        return cls(
            invoice_id, number, customer_id, currency, reference_keys(number), reference_prefix(number)
        )


class ReferenceHit(NamedTuple):
    """An invoice a line names. ``exact``: written with its prefix, or exactly as numbered."""

    invoice: InvoiceRef
    exact: bool
    structured: bool
    token: str
    key_length: int = 0  # characters of the longest key shared; long loose keys are hardly chance


def reference_hit(token: ReferenceToken, invoice: InvoiceRef) -> ReferenceHit | None:
    """Return how strongly the token names the invoice found under one of its keys, or None.

    Exact: the token carries the invoice's own prefix (zero padding and separators aside), or
    is the number exactly. Loose: the prefix is missing or different; only for keys long enough
    that they are unlikely to be an amount or a date.
    """
    shared = set(token.keys).intersection(invoice.keys or reference_keys(invoice.number))
    if not shared:
        return None
    prefix = invoice.prefix if invoice.keys else reference_prefix(invoice.number)
    as_numbered = len(token.compact) >= MIN_LOOSE_KEY_LENGTH and token.compact == reference_compact(
        invoice.number
    )
    with_prefix = bool(prefix) and token.prefix.startswith(prefix)
    exact = as_numbered or with_prefix
    key_length = max(len(key.replace("-", "")) for key in shared)
    if not exact and key_length < MIN_LOOSE_KEY_LENGTH:
        return None
    return ReferenceHit(
        invoice=invoice, exact=exact, structured=token.structured, token=token.text, key_length=key_length
    )


def references_find(
    tokens: Sequence[ReferenceToken], index: Mapping[str, Sequence[InvoiceRef]]
) -> list[ReferenceHit]:
    """Return the invoices the tokens name (each once, with its strongest hit), in text order."""
    best: dict[int, ReferenceHit] = {}
    for token in tokens:
        for key in token.keys:
            for invoice in index.get(key, ()):
                hit = reference_hit(token, invoice)
                if hit is None:
                    continue
                known = best.get(invoice.invoice_id)
                if known is None or (hit.exact, hit.structured, hit.key_length) > (
                    known.exact,
                    known.structured,
                    known.key_length,
                ):
                    best[invoice.invoice_id] = hit
    return list(best.values())


# --- payers ---------------------------------------------------------------------------------

# Longest first, so "有限责任公司" goes before "公司" and "CO LTD" before "LTD".
COMPANY_SUFFIXES = tuple(
    sorted(
        (
            "股份有限公司", "有限责任公司", "有限公司", "集团公司", "分公司", "公司", "集团", "商行", "厂",
            "CO LTD", "CO LIMITED", "COMPANY LIMITED", "COMPANY LTD", "CORPORATION", "CORP", "COMPANY",
            "LIMITED", "LTD", "LLC", "LLP", "INC", "INCORPORATED", "PLC", "GMBH", "AG", "KG", "SA", "SAS",
            "SARL", "SRL", "SPA", "BV", "NV", "OY", "AB", "AS", "PTE", "PTY", "KK", "CO", "GROUP",
            "HOLDINGS", "HOLDING",
        ),
        key=len,
        reverse=True,
    )
)  # fmt: skip
_NAME_PUNCTUATION = re.compile(r"[^\w]+")
_LATIN_SUFFIX = re.compile(
    r"(?:\s(?:" + "|".join(re.escape(s) for s in COMPANY_SUFFIXES if s.isascii()) + r"))+$"
)
_CJK_SUFFIXES = tuple(s for s in COMPANY_SUFFIXES if not s.isascii())


@functools.lru_cache(maxsize=1 << 16)
def payer_name_key(name: str) -> str:
    """Return a payer or customer name reduced to what identifies it.

    "ACME Trading Co., Ltd." and "Acme Trading Company Limited" → "ACME TRADING";
    "上海某某贸易有限公司" → "上海某某贸易"; "（上海）" brackets and spaces do not count.
    """
    text = _NAME_PUNCTUATION.sub(" ", text_normalise(name)).replace("_", " ")
    text = " ".join(text.split())
    for _round in range(3):
        before = text
        text = _LATIN_SUFFIX.sub("", text).strip()
        for suffix in _CJK_SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix) + 1:
                text = text[: -len(suffix)].strip()
        if text == before:
            break
    # Chinese names are written with or without spaces between their parts.
    if any(ord(char) > 0x2E7F for char in text):
        text = text.replace(" ", "")
    return text


def account_key(account: str) -> str:
    """Return a bank account (IBAN, account number) as letters and digits, upper case."""
    return reference_compact(account)


def _bigrams(text: str) -> set[str]:
    compact = text.replace(" ", "")
    return {compact[i : i + 2] for i in range(len(compact) - 1)} or {compact}


def names_alike(first: str, second: str) -> bool:
    """Return whether two name keys probably name the same company (word order, a typo, a region)."""
    if not first or not second:
        return False
    if first == second:
        return True
    shorter, longer = sorted((first, second), key=len)
    if len(shorter) >= 4 and shorter in longer:
        return True
    a, b = _bigrams(first), _bigrams(second)
    dice = 2 * len(a & b) / (len(a) + len(b))
    if dice >= 0.8:
        return True
    if dice < 0.5:  # too different for a typo; spares the slower comparison below
        return False
    return difflib.SequenceMatcher(None, first, second).ratio() >= 0.88


# --- amounts --------------------------------------------------------------------------------


def charges_tolerance(amount_minor: int, *, percent: Decimal | int | str, cap_minor: int) -> int:
    """Return how much less than the invoices a credit may be and still count as bank charges.

    ``percent`` of the credit, at most ``cap_minor``; rounded down to whole minor units.
    """
    share = int((percent if isinstance(percent, Decimal) else Decimal(str(percent))) * amount_minor / 100)
    return max(0, min(share, cap_minor))


def subset_sum(
    items: Sequence[tuple[K, int]],
    target_minor: int,
    *,
    tolerance_minor: int = 0,
    max_items: int = MAX_SUBSET_ITEMS,
    max_steps: int = MAX_SUBSET_STEPS,
) -> tuple[K, ...] | None:
    """Return the keys of items whose amounts add up to ``target_minor``, or None.

    ``items`` are (key, open amount) in the order preferred, oldest due first; only the first
    ``max_items`` are considered. A sum exactly equal to the target is preferred; failing that,
    a sum at most ``tolerance_minor`` above it (the credit short by bank charges). Among equal
    candidates the one that settles the oldest invoices wins. The search gives up after
    ``max_steps`` steps in each of the two passes, so its cost is always bounded.
    """
    considered = [(key, amount) for key, amount in items[:max_items] if amount > 0]
    if target_minor <= 0 or not considered:
        return None
    amounts = [amount for _key, amount in considered]
    high = target_minor + max(0, tolerance_minor)
    # Meeting in the middle says at a cost of 2^(n/2) whether any combination fits, exactly or
    # within the tolerance; the depth-first search then looks, within its budget, for the one
    # settling the oldest invoices.
    exact, near = _subset_meet_in_the_middle(amounts, target_minor, high)
    if exact is not None:
        found = _subset_search(considered, target_minor, target_minor, max_steps) or exact
    elif near is not None:
        found = _subset_search(considered, target_minor, high, max_steps) or near
    else:
        return None
    return tuple(considered[i][0] for i in found)


def _subset_sums(amounts: Sequence[int], offset: int) -> list[tuple[int, int]]:
    """Every (sum, bit mask of the indices) of the amounts, indices counted from ``offset``."""
    sums = [(0, 0)]
    for index, amount in enumerate(amounts):
        bit = 1 << (index + offset)
        sums += [(total + amount, mask | bit) for total, mask in sums]
    return sums


def _subset_meet_in_the_middle(
    amounts: Sequence[int], low: int, high: int
) -> tuple[list[int] | None, list[int] | None]:
    """Return the indices of a subset summing to exactly ``low`` and of one whose sum lies in
    [low, high] (low > 0); None where there is none."""
    half = len(amounts) // 2
    left = _subset_sums(amounts[:half], 0)
    right = sorted(_subset_sums(amounts[half:], half))
    right_totals = [total for total, _mask in right]
    near = None
    for total, mask in left:
        position = bisect_left(right_totals, low - total)
        if position < len(right_totals) and right_totals[position] <= high - total:
            combined = mask | right[position][1]
            indices = [index for index in range(len(amounts)) if combined >> index & 1]
            if right_totals[position] == low - total:
                return indices, indices
            near = near or indices
    return None, near


def _subset_search(
    items: Sequence[tuple[object, int]], low: int, high: int, max_steps: int
) -> list[int] | None:
    """Depth-first search including earlier items first: the first hit settles the oldest invoices."""
    amounts = [amount for _key, amount in items]
    remaining = [0] * (len(amounts) + 1)
    for index in range(len(amounts) - 1, -1, -1):
        remaining[index] = remaining[index + 1] + amounts[index]
    if remaining[0] < low:
        return None
    chosen: list[int] = []
    steps = 0

    def search(index: int, total: int) -> bool:
        nonlocal steps
        steps += 1
        if steps > max_steps:
            return False
        if low <= total <= high:
            return True
        if index == len(amounts) or total + remaining[index] < low:
            return False
        if total + amounts[index] <= high:
            chosen.append(index)
            if search(index + 1, total + amounts[index]):
                return True
            chosen.pop()
        return search(index + 1, total)

    return chosen if search(0, 0) else None


def allocation_preview(amount_minor: int, open_amounts: Sequence[int]) -> list[int]:
    """Return what the credit pays on each invoice in turn (the ledger's rule, named invoices only)."""
    paid = []
    remaining = amount_minor
    for open_minor in open_amounts:
        take = max(0, min(remaining, open_minor))
        paid.append(take)
        remaining -= take
    return paid


# --- weighing the evidence ------------------------------------------------------------------


class OpenInvoice(NamedTuple):
    """One of a candidate customer's open invoices."""

    invoice_id: int
    number: str
    currency: str
    open_minor: int
    due_date: date
    issue_date: date | None = None


@dataclass(slots=True)
class CandidateCustomer:
    """A customer that may have paid, with what is known about them for this credit."""

    customer_id: int
    label: str  # the customer's code, for reasons
    name_keys: tuple[str, ...] = ()  # payer_name_key of name and legal name (else worked out from names)
    names: tuple[str, ...] = ()  # name and legal name as the customer master has them
    open_invoices: list[OpenInvoice] = field(default_factory=list)  # all currencies, oldest due first


@dataclass(frozen=True, slots=True)
class CreditFacts:
    """A bank credit as matching sees it."""

    amount_minor: int
    currency: str
    payer_name_key: str = ""
    payer_account_key: str = ""
    payer_name: str = ""  # as the bank gave it, for reasons
    payer_account: str = ""
    tolerance_minor: int = 0
    booking_date: date | None = None  # invoices issued later are paid only when named


@dataclass(frozen=True, slots=True)
class PayerEvidence:
    """What earlier confirmed matches and the customer master say about the payer."""

    # customer id → confirmations, for the payer's account and for the payer's name
    account_aliases: Mapping[int, int] = field(default_factory=dict)
    name_aliases: Mapping[int, int] = field(default_factory=dict)
    # customers whose own name or legal name reduces to the payer's name key
    name_customers: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Proposal:
    """Who most probably paid, for which invoices (in the order the money goes), and how sure."""

    customer_id: int
    invoices: tuple[tuple[str, int], ...]  # (number, amount applied in minor units)
    confidence: int
    reasons: tuple[str, ...]
    amount_fit: str = ""  # how the amount fits: see AmountFit
    # A person must look at it whatever its confidence (it names an invoice no longer open).
    needs_review: bool = False

    @property
    def invoice_numbers(self) -> list[str]:
        return [number for number, _amount in self.invoices]


class AmountFit:
    """How a credit's amount relates to the invoices proposed (stable codes for reports)."""

    REFERENCED = "referenced"  # equals the invoices named
    REFERENCED_CHARGES = "referenced_less_charges"
    REFERENCED_SUBSET = "referenced_subset"  # equals some of the invoices named
    REFERENCED_PLUS = "referenced_plus_others"  # the invoices named and others
    SHORT = "short"  # less than the invoices named: a short payment
    OVER = "over"  # more than the invoices named: the rest on account
    ONE = "one_invoice"
    COMBINATION = "combination"
    TOTAL = "total"
    CHARGES = "combination_less_charges"
    NONE = ""


# Points each kind of evidence is worth; a proposal's confidence is their sum, at most 100.
POINTS = {
    "ref_exact": 50,
    "ref_loose": 40,
    "ref_loose_long": 45,
    "ref_structured": 5,
    "account": 40,
    "account_shared": 20,
    "account_repeat": 5,
    "name_alias": 30,
    "name_alias_shared": 15,
    "name_customer": 40,
    "name_customer_shared": 20,
    "name_alike": 15,
    AmountFit.REFERENCED: 45,
    AmountFit.REFERENCED_CHARGES: 40,
    AmountFit.REFERENCED_SUBSET: 35,
    AmountFit.REFERENCED_PLUS: 30,
    AmountFit.SHORT: 10,
    AmountFit.OVER: 15,
    AmountFit.ONE: 40,
    AmountFit.COMBINATION: 25,
    AmountFit.TOTAL: 30,
    AmountFit.CHARGES: 20,
    "corroborating_payer": 40,  # payer points from which an exact amount corroborates them
    "corroborated": 10,
    "conflict": -15,
    "currency": -30,
}


def _money(minor: int, currency: str) -> str:
    return f"{format_minor(minor, currency)} {currency}"


@dataclass(slots=True)
class _Weighed:
    customer_id: int
    score: int
    invoices: list[OpenInvoice]
    reasons: list[str]
    fit: str


def _identity(
    candidate: CandidateCustomer, hits: Sequence[ReferenceHit], credit: CreditFacts, payer: PayerEvidence
) -> tuple[int, int, list[str]]:
    """Points and reasons for who paid: invoice numbers named, the payer's account and name.

    Returns (all points, the points the payer's account and name earned, reasons).
    """
    score, reasons = 0, []
    own = [hit for hit in hits if hit.invoice.customer_id == candidate.customer_id]
    if own:
        best = max(own, key=lambda hit: (hit.exact, hit.key_length, hit.structured))
        if best.exact:
            score += POINTS["ref_exact"]
        else:
            long = best.key_length >= LONG_KEY_LENGTH
            score += POINTS["ref_loose_long" if long else "ref_loose"]
        if best.structured:
            score += POINTS["ref_structured"]
        for hit in own:
            where = _("structured reference") if hit.structured else _("remittance text")
            if hit.exact:
                reasons.append(
                    _("invoice %(number)s named in the %(where)s")
                    % {"number": hit.invoice.number, "where": where}
                )
            else:
                reasons.append(
                    _("invoice %(number)s named in the %(where)s as “%(token)s”")
                    % {"number": hit.invoice.number, "where": where, "token": hit.token}
                )
    account_points = 0
    account_count = credit.payer_account_key and payer.account_aliases.get(candidate.customer_id)
    if account_count:
        shared = len(payer.account_aliases) > 1
        account_points = POINTS["account_shared" if shared else "account"]
        if account_count >= 2 and not shared:
            account_points += POINTS["account_repeat"]
        reasons.append(
            _("payer account %(account)s has paid for this customer before (%(count)s times)")
            % {"account": credit.payer_account, "count": account_count}
        )
    name_points = 0
    if credit.payer_name_key:
        # The strongest of: the customer's own name, a name learned from earlier payments, alike.
        if candidate.customer_id in payer.name_customers:
            shared = len(payer.name_customers) > 1
            name_points = POINTS["name_customer_shared" if shared else "name_customer"]
            reasons.append(_("payer %(name)s is the customer's name") % {"name": credit.payer_name})
        elif candidate.customer_id in payer.name_aliases:
            shared = len(payer.name_aliases) > 1
            name_points = POINTS["name_alias_shared" if shared else "name_alias"]
            reasons.append(
                _("payer %(name)s has paid for this customer before") % {"name": credit.payer_name}
            )
        elif any(names_alike(credit.payer_name_key, key) for key in _name_keys(candidate)):
            name_points = POINTS["name_alike"]
            reasons.append(_("payer %(name)s resembles the customer's name") % {"name": credit.payer_name})
    return score + account_points + name_points, account_points + name_points, reasons


def _name_keys(candidate: CandidateCustomer) -> tuple[str, ...]:
    if not candidate.name_keys and candidate.names:
        candidate.name_keys = tuple(key for key in dict.fromkeys(map(payer_name_key, candidate.names)) if key)
    return candidate.name_keys


def _amount(
    candidate: CandidateCustomer, hits: Sequence[ReferenceHit], credit: CreditFacts
) -> tuple[int, list[OpenInvoice], list[str], str]:
    """Points, invoices and reasons for how the amount fits this customer's open invoices."""
    currency = credit.currency
    amount = credit.amount_minor
    tolerance = credit.tolerance_minor
    open_here = [invoice for invoice in candidate.open_invoices if invoice.currency == currency]
    by_id = {invoice.invoice_id: invoice for invoice in open_here}
    reasons: list[str] = []
    own = [hit for hit in hits if hit.invoice.customer_id == candidate.customer_id]
    named = sorted(
        (by_id[hit.invoice.invoice_id] for hit in own if hit.invoice.invoice_id in by_id),
        key=lambda invoice: (invoice.due_date, invoice.invoice_id),
    )
    penalty = 0
    for hit in _settled_hits(candidate, own):
        reasons.append(
            _("invoice %(number)s is no longer open (already paid, or cancelled)")
            % {"number": hit.invoice.number}
        )
    for hit in own:
        if hit.invoice.currency != currency:
            penalty = POINTS["currency"]
            reasons.append(
                _("invoice %(number)s is in %(invoice_currency)s, the credit in %(currency)s")
                % {
                    "number": hit.invoice.number,
                    "invoice_currency": hit.invoice.currency,
                    "currency": currency,
                }
            )
    if named:
        owed = sum(invoice.open_minor for invoice in named)
        if amount == owed:
            reasons.append(_("the amount equals what is open on the invoices named"))
            return POINTS[AmountFit.REFERENCED] + penalty, named, reasons, AmountFit.REFERENCED
        if owed - tolerance <= amount < owed:
            reasons.append(
                _("the amount is %(difference)s less than the invoices named, as bank charges would make it")
                % {"difference": _money(owed - amount, currency)}
            )
            return (
                POINTS[AmountFit.REFERENCED_CHARGES] + penalty,
                named,
                reasons,
                AmountFit.REFERENCED_CHARGES,
            )
        if amount < owed:
            subset = subset_sum([(invoice, invoice.open_minor) for invoice in named], amount)
            if subset is not None:
                reasons.append(
                    _("the amount equals %(count)s of the invoices named") % {"count": len(subset)}
                )
                return (
                    POINTS[AmountFit.REFERENCED_SUBSET] + penalty,
                    list(subset),
                    reasons,
                    AmountFit.REFERENCED_SUBSET,
                )
            reasons.append(
                _("the amount is %(difference)s short of the invoices named")
                % {"difference": _money(owed - amount, currency)}
            )
            return POINTS[AmountFit.SHORT] + penalty, named, reasons, AmountFit.SHORT
        others = [
            (invoice, invoice.open_minor)
            for invoice in open_here
            if invoice not in named
            and (
                credit.booking_date is None
                or invoice.issue_date is None
                or invoice.issue_date <= credit.booking_date
            )
        ]
        extra = subset_sum(others, amount - owed)
        if extra is not None:
            invoices = sorted([*named, *extra], key=lambda invoice: (invoice.due_date, invoice.invoice_id))
            reasons.append(
                _("the amount equals the invoices named and %(count)s other open invoices")
                % {"count": len(extra)}
            )
            return POINTS[AmountFit.REFERENCED_PLUS] + penalty, invoices, reasons, AmountFit.REFERENCED_PLUS
        reasons.append(
            _("the amount is %(difference)s more than the invoices named; the rest stays on account")
            % {"difference": _money(amount - owed, currency)}
        )
        return POINTS[AmountFit.OVER] + penalty, named, reasons, AmountFit.OVER
    if credit.booking_date is not None:
        open_here = [i for i in open_here if i.issue_date is None or i.issue_date <= credit.booking_date]
    if not open_here:
        return penalty, [], reasons, AmountFit.NONE
    equal = [invoice for invoice in open_here if invoice.open_minor == amount]
    if equal:
        reasons.append(
            _("the amount equals what is open on invoice %(number)s") % {"number": equal[0].number}
        )
        points = POINTS[AmountFit.ONE] - (5 if len(equal) > 1 else 0)
        return points + penalty, equal[:1], reasons, AmountFit.ONE
    total = sum(invoice.open_minor for invoice in open_here)
    if total == amount:
        reasons.append(
            _("the amount equals everything the customer owes in %(currency)s") % {"currency": currency}
        )
        return POINTS[AmountFit.TOTAL] + penalty, open_here, reasons, AmountFit.TOTAL
    combination = subset_sum(
        [(invoice, invoice.open_minor) for invoice in open_here], amount, tolerance_minor=tolerance
    )
    if combination is not None:
        invoices = list(combination)
        owed = sum(invoice.open_minor for invoice in invoices)
        if owed == amount:
            reasons.append(_("the amount equals %(count)s open invoices together") % {"count": len(invoices)})
            return POINTS[AmountFit.COMBINATION] + penalty, invoices, reasons, AmountFit.COMBINATION
        reasons.append(
            _(
                "the amount is %(difference)s less than %(count)s open invoices together, as bank charges would make it"
            )
            % {"difference": _money(owed - amount, currency), "count": len(invoices)}
        )
        return POINTS[AmountFit.CHARGES] + penalty, invoices, reasons, AmountFit.CHARGES
    return penalty, [], reasons, AmountFit.NONE


def _settled_hits(candidate: CandidateCustomer, own: Sequence[ReferenceHit]) -> list[ReferenceHit]:
    """The customer's invoices the credit names that are no longer open (in any currency).

    Such a number still says who paid; it says nothing about which open invoice the money is for.
    """
    open_ids = {invoice.invoice_id for invoice in candidate.open_invoices}
    return [hit for hit in own if hit.invoice.invoice_id not in open_ids]


def candidate_ids(hits: Sequence[ReferenceHit], payer: PayerEvidence) -> list[int]:
    """Return the customers worth weighing for a credit: named invoices' first, then the payer's.

    A payer name shared by more than MAX_NAME_CANDIDATES customers (a common personal name, a
    group paying for many subsidiaries) names nobody by itself; it still counts, a little, for
    customers found otherwise.
    """
    ids = dict.fromkeys(hit.invoice.customer_id for hit in hits)
    ids.update(dict.fromkeys(payer.account_aliases))
    for named in (payer.name_aliases, payer.name_customers):
        if len(named) <= MAX_NAME_CANDIDATES:
            ids.update(dict.fromkeys(named))
    return list(ids)


def proposal_make(
    credit: CreditFacts,
    hits: Sequence[ReferenceHit],
    payer: PayerEvidence,
    candidates: Mapping[int, CandidateCustomer],
) -> Proposal | None:
    """Weigh each candidate customer and return the best proposal, or None when nobody fits.

    The confidence is the sum of the points of the evidence (see :data:`POINTS`), at most 100:
    who paid (invoice numbers named, the payer's account or name known) and how the amount fits
    (the invoices named, one open invoice, a combination, everything owed, less bank charges).
    When another customer fits almost as well the proposal loses points and says so.
    """
    weighed: list[_Weighed] = []
    for customer_id in candidate_ids(hits, payer):
        candidate = candidates.get(customer_id)
        if candidate is None:
            continue
        identity, by_payer, who = _identity(candidate, hits, credit, payer)
        points, invoices, how, fit = _amount(candidate, hits, credit)
        if fit in (AmountFit.ONE, AmountFit.TOTAL) and by_payer >= POINTS["corroborating_payer"]:
            # A payer known for this customer paying exactly what one invoice (or all) is open for.
            points += POINTS["corroborated"]
        weighed.append(_Weighed(customer_id, identity + points, invoices, who + how, fit))
    if not weighed:
        return None
    weighed.sort(key=lambda w: -w.score)
    best = weighed[0]
    score = best.score
    reasons = list(best.reasons)
    if len(weighed) > 1 and weighed[1].score >= max(30, best.score - 30):
        score += POINTS["conflict"]
        runner = candidates[weighed[1].customer_id]
        reasons.append(_("customer %(customer)s fits too") % {"customer": runner.label})
        if weighed[1].score == best.score:
            score = min(score, 50)
    paid = allocation_preview(credit.amount_minor, [invoice.open_minor for invoice in best.invoices])
    own = [hit for hit in hits if hit.invoice.customer_id == best.customer_id]
    return Proposal(
        customer_id=best.customer_id,
        invoices=tuple((invoice.number, take) for invoice, take in zip(best.invoices, paid, strict=True)),
        confidence=max(0, min(100, score)),
        reasons=tuple(reasons),
        amount_fit=best.fit,
        needs_review=bool(_settled_hits(candidates[best.customer_id], own)),
    )


class LineDecision:
    """What becomes of a credit line (the line statuses matching sets)."""

    APPLY = "APPLIED"
    REVIEW = "REVIEW"
    UNMATCHED = "UNMATCHED"


# Below this confidence a proposal is only a guess: the line counts as unapplied cash (its guess
# is kept for the reviewer), not as a match waiting for review.
MIN_REVIEW_CONFIDENCE = 30


def decision_for(proposal: Proposal | None, *, threshold: int) -> str:
    """Return APPLIED, REVIEW or UNMATCHED for a proposal at the auto-apply threshold.

    Only a proposal that names invoices is applied without review: money for a known customer
    but no invoice that fits waits for a person to say where it goes, and so does a credit that
    quotes an invoice already paid (a second payment, or a wrong number: someone should ask).
    """
    if proposal is None or proposal.confidence < MIN_REVIEW_CONFIDENCE:
        return LineDecision.UNMATCHED
    if proposal.confidence >= threshold and proposal.invoices and not proposal.needs_review:
        return LineDecision.APPLY
    return LineDecision.REVIEW
