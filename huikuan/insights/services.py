"""Writing debtor classifications: the automatic run, and a collector's confirmation or correction.

The run classifies every overdue customer from facts gathered set-based and writes only what
changed. A collector's judgement (confirmed or corrected) is kept while the automatic rules keep
saying what they said when the collector decided; once they say something else — a dispute is
opened or resolved, a promise breaks, payments start to follow escalation — the record has changed
materially, and the new automatic classification replaces the judgement (which stays in the
history). Customers no longer overdue lose their automatic classification; judgements stay.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from huikuan.core.audit import audit_record, audit_snapshot
from huikuan.core.errors import HuikuanError
from huikuan.core.models import AuditAction
from huikuan.customers.models import Customer
from huikuan.insights.classify import Classification, DebtorFacts, debtor_classify
from huikuan.insights.facts import debtor_facts_gather, thresholds
from huikuan.insights.models import (
    ClassificationRun,
    ClassificationSource,
    DebtorClassification,
    DebtorType,
    Script,
)
from huikuan.insights.scripts import ScriptInvalid

BATCH = 2000


class ClassificationInvalid(HuikuanError):
    code = "classification_invalid"


@dataclass
class ClassifyResult:
    as_of: date
    customers: int = 0
    written: int = 0
    kept_judgements: int = 0
    retired: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    run_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "customers": self.customers,
            "written": self.written,
            "kept_judgements": self.kept_judgements,
            "retired": self.retired,
            "counts": dict(sorted(self.counts.items())),
            "run_id": self.run_id,
        }


@dataclass(frozen=True)
class _Current:
    id: int
    source: str
    debtor_type: str
    automatic_type: str
    confidence: int
    evidence: Any


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _current_rows(customer_ids: list[int] | None) -> dict[int, _Current]:
    rows = DebtorClassification.objects.filter(is_current=True)
    if customer_ids is not None:
        rows = rows.filter(customer_id__in=customer_ids)
    return {
        customer_id: _Current(pk, source, debtor_type, automatic_type, confidence, evidence)
        for pk, customer_id, source, debtor_type, automatic_type, confidence, evidence in rows.values_list(
            "id", "customer_id", "source", "debtor_type", "automatic_type", "confidence", "evidence"
        ).iterator(chunk_size=BATCH)
    }


def _automatic_row(facts: DebtorFacts, found: Classification) -> DebtorClassification:
    return DebtorClassification(
        customer_id=facts.customer_id,
        as_of=facts.as_of,
        debtor_type=found.debtor_type,
        confidence=found.confidence,
        evidence=found.evidence,
        facts=facts.as_json(),
        source=ClassificationSource.AUTOMATIC,
        automatic_type=found.debtor_type,
        is_current=True,
    )


def _retire(ids: list[int]) -> None:
    for chunk in _chunks(ids, 1000):
        DebtorClassification.objects.filter(id__in=chunk).update(is_current=False)


def debtors_classify(
    *,
    as_of: date,
    customer_ids: list[int] | None = None,
    progress: Callable[[int], Any] | None = None,
    on_total: Callable[[int], Any] | None = None,
    record_run: bool = True,
) -> ClassifyResult:
    """Classify every customer overdue on ``as_of`` (or only these customers) and keep what changed.

    ``on_total`` hears how many customers are overdue once the facts are read; ``progress`` hears
    how many more were decided after each batch.
    """
    started_at = timezone.now()
    all_facts = debtor_facts_gather(as_of=as_of, customer_ids=customer_ids)
    if on_total is not None:
        on_total(len(all_facts))
    limits = thresholds()
    current = _current_rows(customer_ids)
    result = ClassifyResult(as_of=as_of, customers=len(all_facts))
    counts: Counter[str] = Counter()
    overdue = set()
    for batch in _chunks(all_facts, BATCH):
        retire: list[int] = []
        new: list[DebtorClassification] = []
        for facts in batch:
            overdue.add(facts.customer_id)
            found = debtor_classify(facts, limits)
            now = current.get(facts.customer_id)
            if now is not None and now.source == ClassificationSource.COLLECTOR:
                if now.automatic_type == found.debtor_type:
                    result.kept_judgements += 1
                    counts[now.debtor_type] += 1
                    continue
            elif now is not None and (now.debtor_type, now.confidence, now.evidence) == (
                found.debtor_type,
                found.confidence,
                found.evidence,
            ):
                counts[now.debtor_type] += 1
                continue
            if now is not None:
                retire.append(now.id)
            new.append(_automatic_row(facts, found))
            counts[found.debtor_type] += 1
        with transaction.atomic():
            _retire(retire)
            DebtorClassification.objects.bulk_create(new, batch_size=1000)
        result.written += len(new)
        if progress is not None:
            progress(len(batch))
    gone = [
        row.id
        for customer_id, row in current.items()
        if customer_id not in overdue and row.source == ClassificationSource.AUTOMATIC
    ]
    with transaction.atomic():
        _retire(gone)
    result.retired = len(gone)
    result.counts = dict(counts)
    if record_run:
        run = ClassificationRun.objects.create(
            as_of=as_of,
            started_at=started_at,
            finished_at=timezone.now(),
            customers=result.customers,
            written=result.written,
            kept_judgements=result.kept_judgements,
            retired=result.retired,
            counts=result.counts,
        )
        result.run_id = run.pk
    return result


def _automatic_now(customer: Customer, as_of: date) -> tuple[DebtorFacts | None, Classification]:
    facts = debtor_facts_gather(as_of=as_of, customer_ids=[customer.pk])
    if not facts:
        return None, Classification(DebtorType.UNDETERMINED, 0, [{"code": "not_overdue"}])
    return facts[0], debtor_classify(facts[0], thresholds())


@transaction.atomic
def classification_decide(
    *,
    customer: Customer,
    user: Any,
    as_of: date,
    debtor_type: str | None = None,
    note: str = "",
) -> DebtorClassification:
    """A collector confirms the classification in force (``debtor_type`` None) or corrects it.

    The judgement records what the automatic rules say today beside it, so that the run keeps it
    until they say something else.
    """
    if debtor_type is not None and debtor_type not in DebtorType.values:
        raise ClassificationInvalid(
            _("Unknown debtor type %(type)s; use one of %(types)s.")
            % {"type": debtor_type, "types": ", ".join(DebtorType.values)},
            code="debtor_type_invalid",
        )
    Customer.objects.select_for_update().filter(pk=customer.pk).first()
    current = DebtorClassification.objects.filter(customer=customer, is_current=True).first()
    facts, automatic = _automatic_now(customer, as_of)
    if debtor_type is None:
        if current is None:
            raise ClassificationInvalid(
                _("There is no classification to confirm yet; choose the type instead."),
                code="nothing_to_confirm",
            )
        debtor_type = current.debtor_type
    evidence = automatic.evidence if current is None else current.evidence
    judgement = DebtorClassification(
        customer=customer,
        as_of=as_of,
        debtor_type=debtor_type,
        confidence=100,
        evidence=evidence,
        facts=facts.as_json() if facts is not None else {},
        source=ClassificationSource.COLLECTOR,
        automatic_type=automatic.debtor_type,
        is_current=True,
        decided_by=user if user is not None and getattr(user, "pk", None) else None,
        note=note.strip(),
    )
    if current is not None:
        DebtorClassification.objects.filter(pk=current.pk).update(is_current=False)
    judgement.full_clean()
    judgement.save()
    audit_record(
        instance=judgement,
        action=AuditAction.CREATE,
        actor=user,
        after=audit_snapshot(judgement, ["debtor_type", "source", "automatic_type", "note", "as_of"]),
        customer_id=customer.pk,
    )
    return judgement


# --- the script library ---------------------------------------------------------------------


def script_save(
    *,
    user: Any,
    debtor_type: str,
    personality: str,
    language: str,
    title: str,
    body: str,
    script: Script | None = None,
) -> Script:
    """Create or change a script; its placeholders are checked first (unknown ones are refused)."""
    from huikuan.customers.models import Personality
    from huikuan.insights.scripts import LANGUAGES, script_validate

    if debtor_type not in DebtorType.values:
        raise ClassificationInvalid(
            _("Unknown debtor type %(type)s; use one of %(types)s.")
            % {"type": debtor_type, "types": ", ".join(DebtorType.values)},
            code="debtor_type_invalid",
        )
    if personality and personality not in Personality.values:
        raise ScriptInvalid(
            _("Unknown personality %(value)s; use one of %(values)s, or none.")
            % {"value": personality, "values": ", ".join(Personality.values)},
            code="personality_invalid",
        )
    if language not in LANGUAGES:
        raise ScriptInvalid(
            _("Scripts are written in %(languages)s.") % {"languages": ", ".join(LANGUAGES)},
            code="language_invalid",
        )
    if not title.strip() or not body.strip():
        raise ScriptInvalid(_("A script needs a title and a text."), code="script_empty")
    script_validate(body)
    clash = Script.objects.filter(debtor_type=debtor_type, personality=personality, language=language)
    if script is not None:
        clash = clash.exclude(pk=script.pk)
    if clash.exists():
        raise ScriptInvalid(
            _("There is already a script for this type, personality and language; edit that one."),
            code="script_exists",
        )
    before = audit_snapshot(script) if script is not None else None
    target = script or Script()
    target.debtor_type = debtor_type
    target.personality = personality
    target.language = language
    target.title = title.strip()
    target.body = body.replace("\r\n", "\n").strip() + "\n"
    target.is_shipped_default = False
    target.updated_by = user if user is not None and getattr(user, "pk", None) else None
    target.full_clean()
    target.save()
    audit_record(
        instance=target,
        action=AuditAction.UPDATE if before is not None else AuditAction.CREATE,
        actor=user,
        before=before,
        after=audit_snapshot(target),
    )
    return target
