"""Matching bank credits to open invoices for whole statements at once, and the review of the rest.

:func:`bank_match` reads every NEW credit line, finds the invoices their texts name through one
streamed pass over the open invoices' number keys (:mod:`huikuan.banking.matching`), the payers
through one read of the learned aliases and the customers' names, and then decides the lines in
batches, each in its own transaction: the open invoices of the batch's candidate customers are
read (and locked), each line is weighed by the pure rules, and

- a proposal at or above ``HUIKUAN_BANK_AUTO_APPLY_CONFIDENCE`` (default 90) that names invoices
  is applied: a bank-transfer payment (``external_id`` "bank-line:<line id>") allocated by the
  ledger's own rule — the invoices named first, then the oldest due, the rest on account —
  short payments recorded, the payer's account and name learned; the line becomes APPLIED;
- a lesser proposal is saved for a person, the line waits in REVIEW;
- a line nobody fits (or only by a guess below 30) is unapplied cash, UNMATCHED, owned by the
  user ``HUIKUAN_BANK_UNMATCHED_OWNER`` names, if any.

A crash loses at most the batch in flight, which stays NEW and is matched by the next run; the
unique payment id keeps a line from ever being paid twice. Short payments become collector tasks
before the run returns.

A line a person reviews goes through :func:`proposal_accept`, :func:`line_apply`,
:func:`line_split`, :func:`line_leave_on_account` or :func:`line_exclude`, each one transaction
that refuses a line already applied or excluded; :func:`line_reinstate` puts a line excluded by
mistake back into review.
"""

from __future__ import annotations

import functools
import sys
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Model, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from huikuan.banking.matching import (
    AmountFit,
    CandidateCustomer,
    CreditFacts,
    InvoiceRef,
    LineDecision,
    OpenInvoice,
    PayerEvidence,
    Proposal,
    ReferenceHit,
    ReferenceToken,
    account_key,
    candidate_ids,
    charges_tolerance,
    decision_for,
    payer_name_key,
    proposal_make,
    reference_keys,
    reference_prefix,
    reference_tokens,
    references_find,
    token_keys,
)
from huikuan.banking.models import (
    BankStatementLine,
    LineStatus,
    MatchProposal,
    PayerAlias,
    PayerAliasKind,
)
from huikuan.core.audit import audit_record, audit_snapshot
from huikuan.core.bulk import (
    chunked,
    ids_reserve,
    json_rows,
    json_text,
    rows_insert,
    rows_update,
    values_subquery,
)
from huikuan.core.errors import HuikuanError, NotFound
from huikuan.core.models import AuditAction, AuditEntry
from huikuan.core.money import Money, format_minor, to_minor
from huikuan.customers.models import Customer
from huikuan.ledger.allocation import OpenItem, allocation_order, plan_allocation
from huikuan.ledger.models import Allocation, Invoice, Payment, PaymentMethod, ShortPayment
from huikuan.ledger.selectors import payments_with_allocations
from huikuan.ledger.services import (
    invoice_balances_refresh,
    payment_record,
)

AUTO_APPLY_CONFIDENCE = 90
# Bank charges: a credit this much short of the invoices it pays still counts as paying them.
CHARGES_PERCENT = "2"  # of the credit
CHARGES_MAX = "50"  # major units of the credit's currency
# Lines decided and written per transaction; a crash loses at most one batch's work.
BATCH_LINES = 2000
# How long a thread computing may keep the interpreter when the other needs it (see _quick_handover).
HANDOVER_SECONDS = 0.0005
# SQLite during a run: page cache, and write-ahead log pages before they are copied back.
SQLITE_CACHE_MB = 256
SQLITE_CHECKPOINT_PAGES = 50_000
# Invoices settled this many days before the run still tell who paid when a credit quotes them.
SETTLED_INVOICES_DAYS = 400
# How many lines' decisions the summary lists (the counts and amounts cover every line).
DECISIONS_LISTED = 100
# Who acted, in the audit trail, when nobody did.
ACTOR_LABEL = "bank match"
# A payment id from a bank line: the first (or only) payment of line 17 is "bank-line:17"; the
# other parts of a split line "bank-line:17#2", "bank-line:17#3" ...
EXTERNAL_ID = "bank-line:{line}"


class BankMatchError(HuikuanError):
    code = "bank_line_invalid"


class BankLineNotFound(NotFound):
    code = "bank_line_not_found"


class BankLineConflict(BankMatchError):
    """The line is no longer (or not) in the state the decision needs: answered 409."""

    status = 409


class LineAlreadyApplied(BankLineConflict):
    code = "bank_line_applied"


class LineExcluded(BankLineConflict):
    code = "bank_line_excluded"


class LineNotExcluded(BankLineConflict):
    code = "bank_line_not_excluded"


class NoProposal(BankLineConflict):
    code = "bank_line_no_proposal"


class LineNotCredit(BankMatchError):
    code = "bank_line_not_credit"


class SplitMismatch(BankMatchError):
    code = "bank_split_mismatch"


# --- settings -------------------------------------------------------------------------------


def auto_apply_threshold() -> int:
    """Return the confidence (0-100) from which a proposal is applied without review."""
    return int(getattr(settings, "HUIKUAN_BANK_AUTO_APPLY_CONFIDENCE", AUTO_APPLY_CONFIDENCE))


def charges_tolerance_minor(amount_minor: int, currency: str) -> int:
    """Return how much less than its invoices a credit may be and still pay them (bank charges).

    ``HUIKUAN_BANK_CHARGES_PERCENT`` of the credit (default 2), at most ``HUIKUAN_BANK_CHARGES_MAX``
    major units (default 50; a mapping currency → amount, with "*" for the others, also works).
    """
    percent, cap_minor = _charges_rule(currency)
    return charges_tolerance(amount_minor, percent=percent, cap_minor=cap_minor)


def _charges_rule(currency: str) -> tuple[str, int]:
    percent = str(getattr(settings, "HUIKUAN_BANK_CHARGES_PERCENT", CHARGES_PERCENT))
    cap: Any = getattr(settings, "HUIKUAN_BANK_CHARGES_MAX", CHARGES_MAX)
    if isinstance(cap, dict):
        cap = cap.get(currency, cap.get("*", CHARGES_MAX))
    return percent, to_minor(Decimal(str(cap)), currency)


def unmatched_owner() -> Any:
    """Return the user who owns unapplied cash (``HUIKUAN_BANK_UNMATCHED_OWNER``), or None."""
    username = str(getattr(settings, "HUIKUAN_BANK_UNMATCHED_OWNER", "") or "").strip()
    if not username:
        return None
    return get_user_model().objects.filter(username=username, is_active=True).first()


# --- the run --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Line:
    pk: int
    booking_date: date
    currency: str
    amount_minor: int
    payer_name: str
    payer_account: str
    remittance: str
    structured_reference: str
    status: str
    tokens: list[ReferenceToken] = field(default_factory=list)
    name_key: str = ""
    account_key: str = ""


@dataclass(slots=True)
class _Context:
    as_of: date
    actor: Any
    threshold: int
    owner_id: int | None
    index: dict[str, list[InvoiceRef]]
    accounts: dict[str, dict[int, int]]  # account key → customer → confirmations
    names: dict[str, dict[int, int]]  # name key → customer → confirmations
    customer_names: dict[str, set[int]]  # name key → customers with that name or legal name
    summary: _Summary
    tolerances: dict[str, tuple[Decimal, int]] = field(default_factory=dict)
    # Tables PostgreSQL last saw (nearly) empty: analysed once the first batch has filled them.
    unanalysed: list[str] = field(default_factory=list)
    # (payer account, payer name, customer) of each line applied by a committed batch, learned
    # as payer aliases once the run ends: the run itself weighs the aliases it started with.
    learned: list[tuple[str, str, int]] = field(default_factory=list)

    def batch_written(self, prepared: _Prepared) -> None:
        """Once a batch is in, count it, keep what its applied lines teach about payers, and let
        PostgreSQL see the tables it thought were empty.

        Planned on an empty allocation table, the ledger's balance refresh reads all of it for
        every invoice; the run would then slow down with each batch until autovacuum noticed.
        """
        self.summary.batch_add(prepared)
        if prepared.decided is not None:
            self.learned.extend(
                (a.line.account_key, a.line.name_key, a.customer_id)
                for a in prepared.decided.applies
                if a.proposal.invoices
            )
        if self.unanalysed:
            tables, self.unanalysed = self.unanalysed, []
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(table) for table in tables))

    def tolerance(self, amount_minor: int, currency: str) -> int:
        """charges_tolerance_minor, with the settings read once a currency."""
        rule = self.tolerances.get(currency)
        if rule is None:
            percent, cap = _charges_rule(currency)
            rule = self.tolerances[currency] = (Decimal(percent), cap)
        return charges_tolerance(amount_minor, percent=rule[0], cap_minor=rule[1])


@dataclass(slots=True)
class _Summary:
    lines: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    amounts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    fits: Counter[str] = field(default_factory=Counter)
    payments: int = 0
    allocations: int = 0
    short_payments: int = 0
    aliases_learned: int = 0
    decisions: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    limit: int = DECISIONS_LISTED

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] += time.perf_counter() - started

    def batch_add(self, prepared: _Prepared) -> None:
        """Count a batch written (and list its decisions while fewer than the limit are listed)."""
        self.counts["SKIPPED"] += len(prepared.batch) - len(prepared.lines)
        decided = prepared.decided
        if decided is None:
            return
        self.fits.update(decided.fits)
        payment_of = {a.line.pk: a.payment_id for a in decided.applies}
        for line, status, _customer in decided.updates:
            self.counts[status] += 1
            self.amounts[status][line.currency] += line.amount_minor
            if len(self.decisions) >= self.limit:
                continue
            proposal = decided.proposals.get(line.pk)
            self.decisions.append(
                {
                    "line": line.pk,
                    "status": status,
                    "amount": format_minor(line.amount_minor, line.currency),
                    "currency": line.currency,
                    "customer": prepared.customers[proposal.customer_id][0] if proposal is not None else None,
                    "invoices": proposal.invoice_numbers if proposal is not None else [],
                    "confidence": proposal.confidence if proposal is not None else 0,
                    "payment": payment_of.get(line.pk) if status == LineDecision.APPLY else None,
                    "reasons": list(proposal.reasons) if proposal is not None else [],
                }
            )


def bank_match(
    *,
    as_of: date | None = None,
    actor: Any = None,
    line_ids: Sequence[int] | None = None,
    batch_size: int = BATCH_LINES,
    decisions_limit: int = DECISIONS_LISTED,
) -> dict[str, Any]:
    """Match every NEW credit line (or the lines given) and return what became of them.

    ``line_ids`` limits the run to those lines and may include lines waiting in REVIEW or
    UNMATCHED, which are weighed again (their old proposal replaced); applied, excluded and
    debit lines are never touched. ``as_of`` (default: today) dates the short-payment tasks.
    ``actor`` (a user, or None for the system) is recorded on applied lines and payments.
    Lines are decided oldest booking first, ``batch_size`` to a transaction.

    The summary (JSON-ready)::

        {"as_of": "2026-12-07", "threshold": 90, "lines": 120,
         "applied": 100, "review": 15, "unmatched": 5,
         "skipped": 0,                        # decided meanwhile by someone else (left alone)
         "amounts": {"applied": {"CNY": "123456.00"}, "review": {...}, "unmatched": {...}},
         "payments": 100, "allocations": 131, "short_payments": 7, "short_payment_tasks": 7,
         "aliases_learned": 180,
         "fits": {"referenced": 80, "one_invoice": 12, ...},     # how the amounts fitted
         "decisions": [{"line": 17, "status": "APPLIED", "amount": "100.00", "currency": "CNY",
                        "customer": "C001", "invoices": ["INV-1"], "confidence": 95,
                        "payment": 42, "reasons": ["..."]}, ...],   # the first `decisions_limit`
         "decisions_listed": 100, "warnings": [],
         "seconds": {"lines": 0.4, "invoice_numbers": 2.1, "decide": 3.0, ...}}  # where the time went
    """
    as_of = as_of or timezone.localdate()
    summary = _Summary(limit=decisions_limit)
    owner = unmatched_owner()
    wanted_owner = str(getattr(settings, "HUIKUAN_BANK_UNMATCHED_OWNER", "") or "").strip()
    if wanted_owner and owner is None:
        summary.warnings.append(
            _(
                "HUIKUAN_BANK_UNMATCHED_OWNER names %(user)s, who is not an active user; unapplied cash has no owner"
            )
            % {"user": wanted_owner}
        )
    with summary.timed("lines"):
        lines = _lines_to_match(line_ids)
        summary.lines = len(lines)
        for line in lines:
            line.tokens = reference_tokens(line.remittance, line.structured_reference)
            line.name_key = payer_name_key(line.payer_name)
            line.account_key = account_key(line.payer_account)
    context = _Context(
        as_of=as_of,
        actor=actor if getattr(actor, "pk", None) else None,
        threshold=auto_apply_threshold(),
        owner_id=owner.pk if owner is not None else None,
        index={},
        accounts={},
        names={},
        customer_names={},
        summary=summary,
    )
    if lines:
        with summary.timed("invoice_numbers"):
            context.index = _invoice_index(
                token_keys(token for line in lines for token in line.tokens), as_of=as_of
            )
        with summary.timed("payers"):
            context.accounts, context.names = _alias_maps()
            context.customer_names = _customer_name_index({line.name_key for line in lines if line.name_key})
    with _sqlite_bulk():
        try:
            batches = list(chunked(lines, max(1, batch_size)))
            if len(batches) > 1:
                context.unanalysed = _tables_seen_empty([Allocation, Payment, ShortPayment])
            if len(batches) > 1:
                batches = _batches_pipelined(batches, context)
            for batch in batches:
                _batch_match(batch, context)
        finally:  # what the batches written so far teach, even when a later one failed
            if context.learned:
                with summary.timed("aliases"), transaction.atomic():
                    summary.aliases_learned += _aliases_learn(context.learned)
    from huikuan.collections.services import short_payments_to_tasks

    with summary.timed("tasks"):
        tasks = short_payments_to_tasks(as_of=as_of)
    return {
        "as_of": as_of.isoformat(),
        "threshold": context.threshold,
        "lines": summary.lines,
        "applied": summary.counts[LineDecision.APPLY],
        "review": summary.counts[LineDecision.REVIEW],
        "unmatched": summary.counts[LineDecision.UNMATCHED],
        "skipped": summary.counts["SKIPPED"],
        "amounts": {
            status.lower(): {
                currency: format_minor(minor, currency)
                for currency, minor in sorted(summary.amounts[status].items())
            }
            for status in (LineDecision.APPLY, LineDecision.REVIEW, LineDecision.UNMATCHED)
        },
        "payments": summary.payments,
        "allocations": summary.allocations,
        "short_payments": summary.short_payments,
        "short_payment_tasks": tasks,
        "aliases_learned": summary.aliases_learned,
        "fits": dict(sorted(summary.fits.items())),
        "decisions": summary.decisions,
        "decisions_listed": len(summary.decisions),
        "warnings": summary.warnings,
        "seconds": {phase: round(seconds, 3) for phase, seconds in summary.seconds.items()},
    }


def _lines_to_match(line_ids: Sequence[int] | None) -> list[_Line]:
    queryset = BankStatementLine.objects.filter(amount_minor__gt=0)
    if line_ids is None:
        queryset = queryset.filter(status=LineStatus.NEW)
    else:
        queryset = queryset.filter(
            pk__in=list(line_ids), status__in=[LineStatus.NEW, LineStatus.REVIEW, LineStatus.UNMATCHED]
        )
    rows = queryset.order_by("booking_date", "pk").values_list(
        "pk",
        "booking_date",
        "currency",
        "amount_minor",
        "counterparty_name",
        "counterparty_account",
        "remittance",
        "structured_reference",
        "status",
    )
    return [_Line(*row) for row in rows.iterator(chunk_size=10_000)]


def _invoice_index(wanted: set[str], *, as_of: date) -> dict[str, list[InvoiceRef]]:
    """Return the invoices whose number keys some line's token has, by key (one streamed read).

    Open invoices, and those settled in the last ``SETTLED_INVOICES_DAYS``: a credit quoting an
    invoice already paid still names its customer (matching then leaves it to a person).
    """
    index: dict[str, list[InvoiceRef]] = {}
    if not wanted:
        return index
    settled_since = as_of - timedelta(days=SETTLED_INVOICES_DAYS)
    rows = Invoice.objects.filter(Q(open_minor__gt=0) | Q(settled_date__gte=settled_since)).values_list(
        "pk", "number", "customer_id", "currency"
    )
    sql, params = rows.query.sql_with_params()

    def add(chunk: list[tuple[int, str, int, str]]) -> None:
        for pk, number, customer_id, currency in chunk:
            keys = reference_keys(number)
            for key in keys:
                if key in wanted:
                    ref = InvoiceRef(pk, number, customer_id, currency, keys, reference_prefix(number))
                    index.setdefault(key, []).append(ref)

    # Read raw and streamed: a million rows through the queryset's iterator cost seconds of Python.
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        chunks = iter(lambda: cursor.fetchmany(20_000), [])
        if connection.vendor != "postgresql":  # SQLite reads in this process: nothing to wait for
            for chunk in chunks:
                add(chunk)
            return index
        # Each chunk is keyed on a second thread while the server sends the next.
        keying: Future[None] | None = None
        with _quick_handover(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="bank-keys") as pool:
            for chunk in chunks:
                if keying is not None:
                    keying.result()
                keying = pool.submit(add, chunk)
            if keying is not None:
                keying.result()
    return index


def _alias_maps() -> tuple[dict[str, dict[int, int]], dict[str, dict[int, int]]]:
    """Return the learned payer accounts and names: value → customer → confirmations."""
    accounts: dict[str, dict[int, int]] = {}
    names: dict[str, dict[int, int]] = {}
    rows = PayerAlias.objects.values_list("kind", "value", "customer_id", "confirmations")
    for kind, value, customer_id, confirmations in rows.iterator(chunk_size=20_000):
        target = accounts if kind == PayerAliasKind.ACCOUNT else names
        target.setdefault(value, {})[customer_id] = confirmations
    return accounts, names


def _customer_name_index(wanted: set[str]) -> dict[str, set[int]]:
    """Return the customers whose name or legal name reduces to one of the payers' name keys."""
    index: dict[str, set[int]] = {}
    if not wanted:
        return index
    rows = Customer.objects.values_list("pk", "name", "legal_name")
    for pk, name, legal_name in rows.iterator(chunk_size=20_000):
        for key in {payer_name_key(name), payer_name_key(legal_name)}:
            if key in wanted:
                index.setdefault(key, set()).add(pk)
    return index


@dataclass(slots=True)
class _Apply:
    line: _Line
    customer_id: int
    proposal: Proposal
    plan: list[tuple[int, int]]  # (invoice id, amount) in the order applied
    shorts: list[tuple[int, int]]  # (invoice id, still open) for invoices left partly paid
    payment_id: int | None = None


def _payer_evidence(line: _Line, context: _Context) -> PayerEvidence:
    return PayerEvidence(
        account_aliases=context.accounts.get(line.account_key, {}) if line.account_key else {},
        name_aliases=context.names.get(line.name_key, {}) if line.name_key else {},
        name_customers=frozenset(context.customer_names.get(line.name_key, ()))
        if line.name_key
        else frozenset(),
    )


class _BatchStale(Exception):
    """A line of the batch, or an invoice it applies money to, changed since the batch read it."""


# How often a batch is decided again when lines or invoices changed meanwhile.
BATCH_ATTEMPTS = 3


def _batch_match(batch: Sequence[_Line], context: _Context) -> None:
    """Decide and write one batch of lines in one transaction (again if its invoices changed)."""
    for attempt in range(1, BATCH_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                prepared = _batch_decide(batch, context)
                committing = time.perf_counter()
        except _BatchStale:
            if attempt == BATCH_ATTEMPTS:
                raise
            continue
        context.summary.seconds["commit"] += time.perf_counter() - committing
        context.batch_written(prepared)
        return


def _batch_decide(batch: Sequence[_Line], context: _Context) -> _Prepared:
    """Lock the batch's lines still as read, decide each, check the invoices paid, write it all."""
    with context.summary.timed("lock"):
        lines, already = _lines_lock(batch)
    prepared = _batch_read(batch, lines, already, context)
    _batch_decided(prepared, context)
    _batch_write(prepared, context)
    return prepared


@dataclass(slots=True)
class _Prepared:
    """A batch's lines with what deciding them needs (read from the database), then decided."""

    batch: Sequence[_Line]
    lines: list[_Line]  # those still in the status first read
    already: dict[str, tuple[int, int]]
    hits: dict[int, list[ReferenceHit]] = field(default_factory=dict)
    evidence: dict[int, PayerEvidence] = field(default_factory=dict)
    wanted: set[int] = field(default_factory=set)  # candidate customers
    fetched: _Fetched | None = None  # their rows as read, before they are sorted out
    customers: dict[int, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    open_rows: dict[int, list[OpenInvoice]] = field(default_factory=dict)
    decided: _Decided | None = None


def _batch_read(
    batch: Sequence[_Line], lines: list[_Line], already: dict[str, tuple[int, int]], context: _Context
) -> _Prepared:
    """Find the invoices and payers the lines name and read the candidate customers' open invoices."""
    prepared = _Prepared(batch, lines, already)
    if lines:
        _batch_referenced(prepared, context)
        with context.summary.timed("candidates"):
            prepared.fetched = _candidates_fetch(prepared.wanted)
        _candidates_sorted(prepared, context)
    return prepared


def _batch_referenced(prepared: _Prepared, context: _Context) -> _Prepared:
    """Find the invoices and payers each line of the batch names, and so the candidate customers.

    No database: the pipeline runs it on its second thread.
    """
    with context.summary.timed("references"):
        lines = prepared.batch
        prepared.hits = {line.pk: references_find(line.tokens, context.index) for line in lines}
        prepared.evidence = {line.pk: _payer_evidence(line, context) for line in lines}
        prepared.wanted = {
            c for line in lines for c in candidate_ids(prepared.hits[line.pk], prepared.evidence[line.pk])
        }
    return prepared


def _batch_decided(prepared: _Prepared, context: _Context) -> _Prepared:
    """Decide each line of a batch read: no database, so that it may run beside a batch's writing."""
    with context.summary.timed("decide"):
        prepared.decided = _decide(
            prepared.lines,
            prepared.already,
            prepared.hits,
            prepared.evidence,
            prepared.customers,
            prepared.open_rows,
            context,
        )
    return prepared


def _batch_write(prepared: _Prepared, context: _Context) -> None:
    """Write a decided batch in the caller's transaction: its lines first, each only if still in
    the status read, then the payments, each invoice only if still open by the amount read.

    Either check failing raises _BatchStale, and the transaction rolls back whole.
    """
    summary = context.summary
    decided = prepared.decided
    if prepared.lines:
        assert decided is not None
        paying = [a for a in decided.applies if a.proposal.invoices]
        with summary.timed("lines_written"):
            for a, payment_id in zip(paying, ids_reserve(Payment, len(paying)), strict=True):
                a.payment_id = payment_id
            _lines_write(decided.updates, decided.applies, decided.proposals, context)
        with summary.timed("payments"):
            _payments_write(paying, prepared.open_rows, context)


# --- batches pipelined: the next batch decided while the last is written ----------------------


def _batches_pipelined(batches: Sequence[Sequence[_Line]], context: _Context) -> list[Sequence[_Line]]:
    """Write each batch while the next one is weighed; return the batches left to match one by one.

    Weighing is Python alone and writing is mostly waiting for the database, so the two overlap.
    Everything that reads or writes stays on this thread's connection, inside this thread's
    transactions: a second thread only finds the references in a batch's lines, sorts out the
    rows read for it and decides it. The next batch is read before the last is written, with the
    open amounts the last one planned standing in for those not written yet; writing a batch
    then checks its lines and its invoices (see _batch_write). Should a line or an invoice have
    changed meanwhile (someone else's payment or decision), the batches from that one on are
    returned, to be read and decided again one at a time.
    """
    language = translation.get_language()
    # invoice → open amount after this run's allocations so far; changed only while the second
    # thread has no batch to sort out
    planned: dict[int, int] = {}

    def referenced(batch: Sequence[_Line]) -> _Prepared:
        return _batch_referenced(_Prepared(batch, [], {}), context)

    def decided(prepared: _Prepared) -> _Prepared:
        _candidates_sorted(prepared, context, planned)
        with translation.override(language):  # reasons in the language of whoever runs it
            return _batch_decided(prepared, context)

    def read(prepared: _Prepared) -> Future[_Prepared]:
        """Read a referenced batch's lines and candidates here; sort them out and decide there."""
        with context.summary.timed("lock"):
            prepared.lines, prepared.already = _lines_read(prepared.batch)
        if prepared.lines:
            with context.summary.timed("candidates"):
                prepared.fetched = _candidates_fetch(prepared.wanted)
        return pool.submit(decided, prepared)

    with _quick_handover(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="bank-match") as pool:
        referencing = deque(pool.submit(referenced, batch) for batch in batches[:2])
        deciding = read(referencing.popleft().result())
        for index in range(len(batches)):
            prepared = deciding.result()
            assert prepared.decided is not None
            planned.update(prepared.decided.open_after)
            if referencing:
                deciding = read(referencing.popleft().result())
                if index + 2 < len(batches):  # referenced while this batch is written
                    referencing.append(pool.submit(referenced, batches[index + 2]))
            try:
                with transaction.atomic():
                    _batch_write(prepared, context)
                    committing = time.perf_counter()
            except _BatchStale:
                return list(batches[index:])
            context.summary.seconds["commit"] += time.perf_counter() - committing
            context.batch_written(prepared)
    return []


@contextmanager
def _quick_handover() -> Iterator[None]:
    """Let a thread whose database answer has arrived take the interpreter back sooner.

    By default a thread computing keeps the interpreter lock up to 5 ms after another asks for
    it; the writing thread asks each time the database answers (a thousand times a run) while
    the weighing thread computes, and would wait seconds in all.
    """
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, HANDOVER_SECONDS))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def _lines_read(batch: Sequence[_Line]) -> tuple[list[_Line], dict[str, tuple[int, int]]]:
    """As _lines_lock, without locking: writing the batch checks them (see _batch_write)."""
    statuses = dict(
        BankStatementLine.objects.filter(pk__in=_in([line.pk for line in batch])).values_list("pk", "status")
    )
    lines = [line for line in batch if statuses.get(line.pk) == line.status]
    return lines, _payments_recorded(lines)


def _lines_lock(batch: Sequence[_Line]) -> tuple[list[_Line], dict[str, tuple[int, int]]]:
    """Return the batch's lines still in the status read (locked), and any payment already
    recorded for them ("bank-line:<id>" → (payment, customer))."""
    locked = BankStatementLine.objects.filter(pk__in=_in([line.pk for line in batch]), amount_minor__gt=0)
    if connection.features.has_select_for_update_skip_locked:
        locked = locked.select_for_update(skip_locked=True, of=("self",))
    statuses = dict(locked.values_list("pk", "status"))
    lines = [line for line in batch if statuses.get(line.pk) == line.status]
    return lines, _payments_recorded(lines)


def _payments_recorded(lines: Sequence[_Line]) -> dict[str, tuple[int, int]]:
    """Payments already recorded for the lines ("bank-line:<id>" → (payment, customer)): a run
    interrupted after writing them, before the lines said so."""
    if not lines:
        return {}
    return {
        str(external_id): (pk, customer_id)
        for external_id, pk, customer_id in Payment.objects.filter(
            external_id__in=_in([EXTERNAL_ID.format(line=line.pk) for line in lines])
        ).values_list("external_id", "pk", "customer_id")
    }


@dataclass(slots=True)
class _Decided:
    applies: list[_Apply] = field(default_factory=list)
    proposals: dict[int, Proposal | None] = field(default_factory=dict)
    updates: list[tuple[_Line, str, int | None]] = field(default_factory=list)  # (line, status, customer)
    fits: Counter[str] = field(default_factory=Counter)
    open_after: dict[int, int] = field(default_factory=dict)  # invoices paid → open amount after


def _decide(
    lines: Sequence[_Line],
    already: dict[str, tuple[int, int]],
    hits: dict[int, list[ReferenceHit]],
    evidence: dict[int, PayerEvidence],
    customers: dict[int, tuple[str, tuple[str, ...]]],
    open_rows: dict[int, list[OpenInvoice]],
    context: _Context,
) -> _Decided:
    """Weigh each line in turn; money applied by one line is gone for the next."""
    decided = _Decided()
    open_now = {invoice.invoice_id: invoice.open_minor for rows in open_rows.values() for invoice in rows}
    built: dict[int, CandidateCustomer] = {}
    for line in lines:
        recorded = already.get(EXTERNAL_ID.format(line=line.pk))
        if recorded is not None:
            # Paid before a crash could record the line's status: link it, pay nothing again.
            payment_id, customer_id = recorded
            decided.updates.append((line, LineDecision.APPLY, customer_id))
            decided.applies.append(
                _Apply(line, customer_id, Proposal(customer_id, (), 0, ()), [], [], payment_id)
            )
            continue
        candidates = {
            customer_id: _candidate(customer_id, customers, open_rows, open_now, built)
            for customer_id in candidate_ids(hits[line.pk], evidence[line.pk])
            if customer_id in customers
        }
        credit = CreditFacts(
            amount_minor=line.amount_minor,
            currency=line.currency,
            payer_name_key=line.name_key,
            payer_account_key=line.account_key,
            payer_name=line.payer_name,
            payer_account=line.payer_account,
            tolerance_minor=context.tolerance(line.amount_minor, line.currency),
            booking_date=line.booking_date,
        )
        proposal = proposal_make(credit, hits[line.pk], evidence[line.pk], candidates)
        decided.proposals[line.pk] = proposal
        status = decision_for(proposal, threshold=context.threshold)
        if status == LineDecision.APPLY:
            assert proposal is not None
            plan, shorts = _plan(line, proposal, open_rows.get(proposal.customer_id, []), open_now)
            built.pop(proposal.customer_id, None)  # its open amounts changed
            decided.open_after.update((invoice_id, open_now[invoice_id]) for invoice_id, _take in plan)
            decided.applies.append(_Apply(line, proposal.customer_id, proposal, plan, shorts))
        decided.updates.append((line, status, proposal.customer_id if proposal is not None else None))
        decided.fits[(proposal.amount_fit if proposal is not None else "") or "none"] += 1
    return decided


class _Fetched(NamedTuple):
    """Candidate customers (id, code, name, legal name) and their open invoices (id, number,
    customer, currency, open amount, due date, issue date, oldest due first), as read."""

    customers: list[tuple[Any, ...]]
    invoices: list[tuple[Any, ...]]


def _candidates_fetch(customer_ids: Iterable[int]) -> _Fetched:
    """Read the candidate customers and their open invoices, raw: sorting them out is left to
    _candidates_sorted, which the pipeline runs on its second thread."""
    fetched = _Fetched([], [])
    for chunk in chunked(sorted(customer_ids), 2000):
        customers = Customer.objects.filter(pk__in=_in(chunk)).values_list("pk", "code", "name", "legal_name")
        invoices = (
            Invoice.objects.filter(customer_id__in=_in(chunk), open_minor__gt=0)
            .order_by("customer_id", "due_date", "pk")
            .values_list("pk", "number", "customer_id", "currency", "open_minor", "due_date", "issue_date")
        )
        with connection.cursor() as cursor:
            for queryset, rows in ((customers, fetched.customers), (invoices, fetched.invoices)):
                cursor.execute(*queryset.query.sql_with_params())
                rows.extend(cursor.fetchall())
    return fetched


def _candidates_sorted(prepared: _Prepared, context: _Context, planned: dict[int, int] | None = None) -> None:
    """Set the batch's candidate customers (code, names) and open invoices from the rows read.

    ``planned``: open amounts after batches this run decided but may not have written yet; they
    stand in for what the database said. No database: the pipeline runs it on its second thread.
    """
    fetched = prepared.fetched
    if fetched is None:
        return
    with context.summary.timed("candidates_sorted"):
        prepared.customers = {
            pk: (code, (name, legal_name)) for pk, code, name, legal_name in fetched.customers
        }
        open_rows: dict[int, list[OpenInvoice]] = defaultdict(list)
        planned = planned or {}
        for pk, number, customer_id, currency, open_minor, due, issued in fetched.invoices:
            open_rows[customer_id].append(  # dates: SQLite returns ISO text
                OpenInvoice(pk, number, currency, planned.get(pk, open_minor), _date(due), _date(issued))
            )
        prepared.open_rows = open_rows
        prepared.fetched = None


def _candidate(
    customer_id: int,
    customers: dict[int, tuple[str, tuple[str, ...]]],
    open_rows: dict[int, list[OpenInvoice]],
    open_now: dict[int, int],
    built: dict[int, CandidateCustomer],
) -> CandidateCustomer:
    """The customer as the pure rules weigh it, built once a batch until a payment changes it."""
    candidate = built.get(customer_id)
    if candidate is None:
        code, names = customers[customer_id]
        candidate = built[customer_id] = CandidateCustomer(
            customer_id=customer_id,
            label=code,
            names=names,
            open_invoices=[
                invoice if open_now[invoice.invoice_id] == invoice.open_minor
                else invoice._replace(open_minor=open_now[invoice.invoice_id])
                for invoice in open_rows.get(customer_id, ())
                if open_now[invoice.invoice_id] > 0
            ],
        )  # fmt: skip
    return candidate


# Fewer rows than this in PostgreSQL's statistics count as "seen empty" (see batch_written).
_SEEN_EMPTY_ROWS = 10_000


def _tables_seen_empty(models: Sequence[type[Model]]) -> list[str]:
    """Return the tables of the models PostgreSQL's planner believes (nearly) empty."""
    if connection.vendor != "postgresql":
        return []
    tables = [model._meta.db_table for model in models]
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%s)", [tables])
        estimates = dict(cursor.fetchall())
    return [table for table in tables if estimates.get(table, 0) < _SEEN_EMPTY_ROWS]


def _in(values: Sequence[int] | Sequence[str]) -> RawSQL:
    """Return a subquery yielding the values, passed as one parameter (see values_subquery)."""
    return RawSQL(*values_subquery(values))  # noqa: S611


@contextmanager
def _sqlite_bulk() -> Iterator[None]:
    """On SQLite, give a run a large page cache and let its write-ahead log grow before it is
    copied into the database, so that an index page many batches update is written once."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        cache = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA wal_autocheckpoint")
        checkpoint = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = {-1024 * SQLITE_CACHE_MB}")
        cursor.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_CHECKPOINT_PAGES}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {cache}")
            cursor.execute(f"PRAGMA wal_autocheckpoint = {checkpoint}")


def _date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _plan(
    line: _Line, proposal: Proposal, rows: Sequence[OpenInvoice], open_now: dict[int, int]
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Apply the credit as ``payment_record`` would, in memory: named first, then oldest due.

    Updates ``open_now``; returns the allocations and the invoices left partly open by them.
    """
    numbers = proposal.invoice_numbers
    by_number = {row.number: row for row in rows if row.currency == line.currency}
    named_rows = [by_number[number] for number in numbers if number in by_number]
    named = [row.invoice_id for row in named_rows]
    if line.amount_minor <= sum(max(0, open_now[invoice_id]) for invoice_id in named):
        candidates: Sequence[OpenInvoice] = named_rows  # the money ends on the named invoices
    else:
        candidates = [
            row
            for row in rows
            if row.currency == line.currency
            and (row.issue_date is None or row.issue_date <= line.booking_date or row.invoice_id in named)
        ]
    items = [
        OpenItem(key=row.invoice_id, open_minor=open_now[row.invoice_id], due_date=row.due_date)
        for row in candidates
        if open_now[row.invoice_id] > 0
    ]
    plan = plan_allocation(line.amount_minor, allocation_order(items, named))
    shorts = []
    for invoice_id, take in plan:
        open_now[invoice_id] -= take
        if open_now[invoice_id] > 0:
            shorts.append((invoice_id, open_now[invoice_id]))
    return plan, shorts


def _payments_write(
    applies: Sequence[_Apply], open_rows: dict[int, list[OpenInvoice]], context: _Context
) -> None:
    """Record the batch's payments (their ids reserved), allocations and short payments, then
    refresh the balances.

    The same rows ``payment_record`` writes one payment at a time, including its audit entry. A
    payment's unapplied remainder is written with it: its allocations are this plan, written in
    the same transaction, so refreshing it afterwards would only write the same number again.

    The balance refresh locks the invoices paid and checks that each is still open by the
    amount read (``open_rows``); if one is not, someone applied money to it since, and
    _BatchStale rolls the batch back to be read again. A payment recorded for the same
    customer meanwhile either committed before (and is seen here) or waits for the batch and
    then sees its allocations: money is never spent twice.
    """
    if not applies:
        return
    adapt_date = functools.lru_cache(maxsize=1024)(connection.ops.adapt_datefield_value)
    now = timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(now)
    # one_statement: the weighing thread is busy meanwhile, and SQLite's executemany would wait
    # for the interpreter after every row (core.bulk).
    rows_insert(
        Payment,
        ("id", "customer", "received_date", "currency", "amount_minor", "unapplied_minor", "method",
         "reference", "payer_name", "external_id", "created_at"),
        [
            (a.payment_id, a.customer_id, adapt_date(a.line.booking_date), a.line.currency, a.line.amount_minor,
             a.line.amount_minor - sum(take for _pk, take in a.plan), PaymentMethod.BANK_TRANSFER,
             _payment_reference(a.line.structured_reference, a.line.remittance), a.line.payer_name[:255],
             EXTERNAL_ID.format(line=a.line.pk), stamp)
            for a in applies
        ],
        one_statement=True,
    )  # fmt: skip
    rows_insert(
        Allocation,
        ("payment", "invoice", "amount_minor", "allocation_date", "reverses", "created_at"),
        [
            (a.payment_id, pk, take, adapt_date(a.line.booking_date), None, stamp)
            for a in applies
            for pk, take in a.plan
        ],
        one_statement=True,
    )
    read = {row.invoice_id: row for a in applies for row in open_rows.get(a.customer_id, ())}
    touched = sorted({pk for a in applies for pk, _take in a.plan})
    for ids in chunked(touched, 5000):
        refreshed = invoice_balances_refresh(ids, unless_changed={pk: read[pk].open_minor for pk in ids})
        if refreshed != len(ids):
            raise _BatchStale("an invoice was paid meanwhile")
    rows_insert(
        ShortPayment,
        ("payment", "invoice", "currency", "short_minor", "event_date", "created_at"),
        [
            (a.payment_id, pk, a.line.currency, short, adapt_date(a.line.booking_date), stamp)
            for a in applies
            for pk, short in a.shorts
        ],
        one_statement=True,
    )
    actor = context.actor
    json_value = connection.ops.adapt_json_value
    rows_insert(
        AuditEntry,
        ("at", "actor", "actor_label", "customer", "entity", "entity_id", "action", "before", "after"),
        [
            (
                stamp,
                actor.pk if actor is not None else None,
                actor.get_username() if actor is not None else ACTOR_LABEL,
                a.customer_id,
                Payment._meta.label_lower,
                str(a.payment_id),
                AuditAction.CREATE,
                None,
                json_value(
                    {
                        "id": a.payment_id,
                        "customer_id": a.customer_id,
                        "received_date": a.line.booking_date.isoformat(),
                        "currency": a.line.currency,
                        "amount_minor": a.line.amount_minor,
                        "unapplied_minor": a.line.amount_minor - sum(take for _pk, take in a.plan),
                        "method": PaymentMethod.BANK_TRANSFER,
                        "reference": _payment_reference(a.line.structured_reference, a.line.remittance),
                        "payer_name": a.line.payer_name[:255],
                        "external_id": EXTERNAL_ID.format(line=a.line.pk),
                        "allocations": [[read[pk].number, take] for pk, take in a.plan],
                    },
                    None,
                ),
            )
            for a in applies
        ],
        one_statement=True,
    )
    summary = context.summary
    summary.payments += len(applies)
    summary.allocations += sum(len(a.plan) for a in applies)
    summary.short_payments += sum(len(a.shorts) for a in applies)


def _payment_reference(structured: str, remittance: str) -> str:
    return " ".join((structured or remittance).split())[:255]


def _lines_write(
    updates: Sequence[tuple[_Line, str, int | None]],
    applies: Sequence[_Apply],
    proposals: dict[int, Proposal | None],
    context: _Context,
) -> None:
    """Set each line's status (and customer, payment, owner); save the proposals made.

    A line no longer in the status it was read in (someone decided it meanwhile) is left as it
    is, and _BatchStale rolls the batch back.
    """
    payment_of = {a.line.pk: a.payment_id for a in applies}
    stamp = str(connection.ops.adapt_datetimefield_value(timezone.now()))  # as text once, not a row
    actor_id = context.actor.pk if context.actor is not None else None
    rows = []
    for line, status, customer_id in updates:
        applied = status == LineDecision.APPLY
        rows.append(
            (
                status,
                customer_id if applied else None,
                payment_of.get(line.pk) if applied else None,
                context.owner_id if status == LineStatus.UNMATCHED else None,
                stamp if applied else None,
                actor_id if applied else None,
                line.pk,
                line.status,
            )
        )
    fields = ("status", "customer", "payment", "owner", "matched_at", "matched_by")
    if rows_update(BankStatementLine, fields, rows, unless_changed="status", one_statement=True) != len(rows):
        raise _BatchStale("a line was decided meanwhile")
    decided = [line for line, _status, _customer in updates if line.pk in proposals]
    if any(line.status != LineStatus.NEW for line in decided):
        MatchProposal.objects.filter(line_id__in=[line.pk for line in decided]).delete()
    json_value = connection.ops.adapt_json_value
    made = []
    for line in decided:
        proposal = proposals[line.pk]
        if proposal is None:
            continue
        invoices = [
            {"number": number, "amount": format_minor(amount, line.currency)}
            for number, amount in proposal.invoices
        ]
        made.append(
            (
                line.pk,
                proposal.customer_id,
                json_value(invoices, None),
                proposal.confidence,
                json_value(list(proposal.reasons), None),
                stamp,
            )
        )
    rows_insert(
        MatchProposal,
        ("line", "customer", "invoices", "confidence", "reasons", "created_at"),
        made,
        one_statement=True,
    )


def _aliases_learn(pairs: Sequence[tuple[str, str, int]]) -> int:
    """Count each (payer account, payer name) → customer of confirmed matches as learned aliases.

    Returns how many confirmations were counted.
    """
    wanted: Counter[tuple[str, str, int]] = Counter()
    for account, name, customer_id in pairs:
        if account:
            wanted[(PayerAliasKind.ACCOUNT, account[:200], customer_id)] += 1
        if name:
            wanted[(PayerAliasKind.NAME, name[:200], customer_id)] += 1
    if not wanted:
        return 0
    stamp = str(connection.ops.adapt_datetimefield_value(timezone.now()))
    rows = [  # in key order: the unique index is then walked once, not page by random page
        (str(kind), value, customer_id, count, stamp)
        for (kind, value, customer_id), count in sorted(wanted.items())
    ]
    table = connection.ops.quote_name(PayerAlias._meta.db_table)
    columns = "kind, value, customer_id, confirmations, last_confirmed_at"
    # An upsert: a reviewer or another run teaching the same alias meanwhile adds up.
    upsert = (
        "ON CONFLICT (kind, value, customer_id) DO UPDATE SET "
        f"confirmations = {table}.confirmations + excluded.confirmations, "
        "last_confirmed_at = excluded.last_confirmed_at"
    )
    source, values = json_rows(
        PayerAlias, ("kind", "value", "customer", "confirmations", "last_confirmed_at")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {', '.join(values)} FROM {source} WHERE true {upsert}",
            [json_text(rows)],
        )
    return sum(wanted.values())


# --- review ---------------------------------------------------------------------------------


def _line_locked(line: BankStatementLine) -> BankStatementLine:
    locked = BankStatementLine.objects.select_for_update().filter(pk=line.pk).first()
    if locked is None:
        raise BankLineNotFound(_("bank line %(line)s does not exist") % {"line": line.pk})
    return locked


def _line_for_payment(line: BankStatementLine) -> BankStatementLine:
    """Lock the line and check it may still be paid: a NEW, REVIEW or UNMATCHED credit."""
    locked = _line_locked(line)
    if locked.status == LineStatus.APPLIED:
        raise LineAlreadyApplied(
            _("bank line %(line)s is already applied (payment %(payment)s); it cannot be applied again")
            % {"line": locked.pk, "payment": locked.payment_id}
        )
    if locked.status == LineStatus.EXCLUDED:
        raise LineExcluded(
            _("bank line %(line)s was excluded as not a customer payment") % {"line": locked.pk}
        )
    if locked.amount_minor <= 0:
        raise LineNotCredit(
            _("bank line %(line)s is money paid out, not a customer payment") % {"line": locked.pk}
        )
    return locked


def _line_applied(
    line: BankStatementLine, *, customer_id: int | None, payment: Payment, actor: Any, how: str
) -> None:
    before = audit_snapshot(line, ["status", "customer", "payment", "owner"])
    line.status = LineStatus.APPLIED
    line.customer_id = customer_id
    line.payment = payment
    line.owner = None
    line.matched_at = timezone.now()
    line.matched_by = actor if getattr(actor, "pk", None) else None
    line.save(update_fields=["status", "customer", "payment", "owner", "matched_at", "matched_by"])
    after = audit_snapshot(line, ["status", "customer", "payment", "owner"])
    after["how"] = how
    audit_record(
        instance=line,
        action=AuditAction.UPDATE,
        actor=actor,
        actor_label="" if getattr(actor, "pk", None) else ACTOR_LABEL,
        before=before,
        after=after,
        customer_id=customer_id,
    )


def _pay(
    line: BankStatementLine,
    *,
    customer: Customer,
    amount: Money,
    invoice_numbers: Sequence[str],
    external_id: str,
    actor: Any,
    allocate: bool = True,
) -> Payment:
    return payment_record(
        customer=customer,
        received_date=line.booking_date,
        amount=amount,
        method=PaymentMethod.BANK_TRANSFER,
        reference=_payment_reference(line.structured_reference, line.remittance),
        payer_name=line.counterparty_name[:255],
        invoice_numbers=list(invoice_numbers),
        external_id=external_id,
        allocate=allocate,
        actor=actor,
    )


def _learn_from(line: BankStatementLine, customer_ids: Iterable[int]) -> None:
    account, name = account_key(line.counterparty_account), payer_name_key(line.counterparty_name)
    _aliases_learn([(account, name, customer_id) for customer_id in dict.fromkeys(customer_ids)])


def _tasks_for_short_payments(as_of: date | None) -> None:
    from huikuan.collections.services import short_payments_to_tasks

    short_payments_to_tasks(as_of=as_of or timezone.localdate())


@transaction.atomic
def proposal_accept(*, line: BankStatementLine, actor: Any = None, as_of: date | None = None) -> Payment:
    """Apply a line as its proposal says: the proposed customer, the proposed invoices first.

    A proposal that names no invoice (the customer is known, no open invoice fits) leaves the
    money on the customer's account, applied to nothing, as the review page shows it.
    """
    locked = _line_for_payment(line)
    proposal = MatchProposal.objects.select_related("customer").filter(line=locked).first()
    if proposal is None:
        raise NoProposal(
            _("bank line %(line)s has no proposal to accept; apply it to a customer instead")
            % {"line": locked.pk}
        )
    numbers = [item["number"] for item in proposal.invoices]
    payment = _pay(
        locked,
        customer=proposal.customer,
        amount=Money(locked.amount_minor, locked.currency),
        invoice_numbers=_still_open(numbers, proposal.customer_id),
        external_id=EXTERNAL_ID.format(line=locked.pk),
        actor=actor,
        allocate=bool(numbers),  # a proposal naming no invoice proposes money on account
    )
    _line_applied(locked, customer_id=proposal.customer_id, payment=payment, actor=actor, how="accepted")
    _learn_from(locked, [proposal.customer_id])
    _tasks_for_short_payments(as_of)
    line.refresh_from_db()
    return payment


def _still_open(numbers: Sequence[str], customer_id: int) -> list[str]:
    """The proposed invoices still open: one paid since the proposal is left out, not an error."""
    open_numbers = set(
        Invoice.objects.filter(
            number__in=list(numbers), customer_id=customer_id, open_minor__gt=0
        ).values_list("number", flat=True)
    )
    return [number for number in numbers if number in open_numbers]


@transaction.atomic
def line_apply(
    *,
    line: BankStatementLine,
    customer: Customer,
    invoice_numbers: Sequence[str] = (),
    actor: Any = None,
    as_of: date | None = None,
) -> Payment:
    """Apply a line to the customer and invoices a person chose (the named invoices first)."""
    locked = _line_for_payment(line)
    payment = _pay(
        locked,
        customer=customer,
        amount=Money(locked.amount_minor, locked.currency),
        invoice_numbers=invoice_numbers,
        external_id=EXTERNAL_ID.format(line=locked.pk),
        actor=actor,
    )
    _line_applied(locked, customer_id=customer.pk, payment=payment, actor=actor, how="applied")
    _learn_from(locked, [customer.pk])
    _tasks_for_short_payments(as_of)
    line.refresh_from_db()
    return payment


@transaction.atomic
def line_split(
    *,
    line: BankStatementLine,
    parts: Sequence[tuple[Customer, Sequence[str], Money]],
    actor: Any = None,
    as_of: date | None = None,
) -> list[Payment]:
    """Apply one credit as several payments: (customer, invoice numbers, amount) each.

    The amounts must add up to the line exactly. The first part's payment is the line's
    payment ("bank-line:<id>"), the others "bank-line:<id>#2", "#3" ...; the line keeps a
    customer only when every part is for the same one.
    """
    locked = _line_for_payment(line)
    if not parts:
        raise SplitMismatch(_("a split needs at least one part"))
    total = 0
    for position, (_customer, _numbers, amount) in enumerate(parts, start=1):
        if amount.currency != locked.currency:
            raise SplitMismatch(
                _("part %(part)s is in %(currency)s, the line in %(line_currency)s")
                % {"part": position, "currency": amount.currency, "line_currency": locked.currency}
            )
        if amount.minor <= 0:
            raise SplitMismatch(_("part %(part)s must be more than zero") % {"part": position})
        total += amount.minor
    if total != locked.amount_minor:
        raise SplitMismatch(
            _("the parts add up to %(total)s but the line is %(amount)s")
            % {"total": Money(total, locked.currency), "amount": Money(locked.amount_minor, locked.currency)}
        )
    payments = []
    for position, (customer, numbers, amount) in enumerate(parts, start=1):
        external_id = EXTERNAL_ID.format(line=locked.pk) + ("" if position == 1 else f"#{position}")
        payments.append(
            _pay(
                locked,
                customer=customer,
                amount=amount,
                invoice_numbers=numbers,
                external_id=external_id,
                actor=actor,
            )
        )
    customer_ids = {customer.pk for customer, _numbers, _amount in parts}
    only = next(iter(customer_ids)) if len(customer_ids) == 1 else None
    _line_applied(locked, customer_id=only, payment=payments[0], actor=actor, how="split")
    _learn_from(locked, [customer.pk for customer, _numbers, _amount in parts])
    _tasks_for_short_payments(as_of)
    line.refresh_from_db()
    return payments


@transaction.atomic
def line_leave_on_account(*, line: BankStatementLine, customer: Customer, actor: Any = None) -> Payment:
    """Record the line as the customer's payment without applying it: unapplied, on account."""
    locked = _line_for_payment(line)
    payment = _pay(
        locked,
        customer=customer,
        amount=Money(locked.amount_minor, locked.currency),
        invoice_numbers=(),
        external_id=EXTERNAL_ID.format(line=locked.pk),
        actor=actor,
        allocate=False,
    )
    _line_applied(locked, customer_id=customer.pk, payment=payment, actor=actor, how="on account")
    _learn_from(locked, [customer.pk])
    line.refresh_from_db()
    return payment


@transaction.atomic
def line_exclude(*, line: BankStatementLine, reason: str, actor: Any = None) -> BankStatementLine:
    """Take a credit out of matching for good: not a customer's payment (interest, a refund ...)."""
    locked = _line_for_payment(line)
    reason = " ".join((reason or "").split())
    if not reason:
        raise BankMatchError(_("say why the line is not a customer payment"), code="reason_missing")
    _line_status_set(locked, LineStatus.EXCLUDED, actor=actor, note={"reason": reason})
    line.refresh_from_db()
    return line


@transaction.atomic
def line_reinstate(*, line: BankStatementLine, actor: Any = None) -> BankStatementLine:
    """Put a line wrongly set aside as "not a customer payment" back into the review queue.

    It waits there like any line matching was not sure of, with the proposal it had, if any (a
    person applies it, or asks for it to be weighed again); the audit trail keeps both steps.
    """
    locked = _line_locked(line)
    if locked.status != LineStatus.EXCLUDED:
        raise LineNotExcluded(
            _("bank line %(line)s was not set aside, so there is nothing to put back") % {"line": locked.pk}
        )
    _line_status_set(locked, LineStatus.REVIEW, actor=actor, note={"how": "put back into review"})
    line.refresh_from_db()
    return line


def _line_status_set(locked: BankStatementLine, status: str, *, actor: Any, note: dict[str, str]) -> None:
    """Give a locked line a status no payment comes with (set aside, or back to review), audited.

    Set aside, the line is decided (when and by whom is kept); back in review, it is not.
    """
    before = audit_snapshot(locked, ["status", "customer", "owner"])
    decided = status == LineStatus.EXCLUDED
    locked.status = status
    locked.owner = None
    locked.matched_at = timezone.now() if decided else None
    locked.matched_by = actor if decided and getattr(actor, "pk", None) else None
    locked.save(update_fields=["status", "owner", "matched_at", "matched_by"])
    after = {**audit_snapshot(locked, ["status", "customer", "owner"]), **note}
    audit_record(
        instance=locked,
        action=AuditAction.UPDATE,
        actor=actor,
        actor_label="" if getattr(actor, "pk", None) else ACTOR_LABEL,
        before=before,
        after=after,
    )


def line_payments(line: BankStatementLine) -> list[Payment]:
    """Return the payments recorded from a line (several when it was split)."""
    first = EXTERNAL_ID.format(line=line.pk)
    return list(
        payments_with_allocations()
        .filter(Q(external_id=first) | Q(external_id__startswith=f"{first}#"))
        .order_by("pk")
    )


__all__ = [
    "AmountFit",
    "BankLineConflict",
    "BankLineNotFound",
    "BankMatchError",
    "LineAlreadyApplied",
    "LineExcluded",
    "LineNotCredit",
    "LineNotExcluded",
    "NoProposal",
    "SplitMismatch",
    "auto_apply_threshold",
    "bank_match",
    "charges_tolerance_minor",
    "line_apply",
    "line_exclude",
    "line_leave_on_account",
    "line_payments",
    "line_reinstate",
    "line_split",
    "proposal_accept",
    "unmatched_owner",
]
