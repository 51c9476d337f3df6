"""The three shipped policies — gentle (grade A), standard (B), firm (C and D) — after PLAYBOOK §3, §4, §6.

Each ladder starts with a courteous pre-due reminder from the sales rep (the "good cop"), hands
over to the credit controller once the debt is overdue, lets the system send the formal notices,
and ends with supply stopped and a legal referral. Firmer ladders move faster and start
interest and fees earlier. Installed by a data migration; users edit them afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EMAIL, SMS, LETTER = "EMAIL", "SMS", "LETTER"
PHONE_TASK, VISIT_TASK = "PHONE_TASK", "VISIT_TASK"
CREDIT_HOLD, LEGAL_REFERRAL = "CREDIT_HOLD", "LEGAL_REFERRAL"
SALES_REP, COLLECTOR, COMPANY, LEGAL = "SALES_REP", "COLLECTOR", "COMPANY", "LEGAL"


@dataclass(frozen=True)
class StageSpec:
    name: str
    trigger_days: int
    channels: tuple[str, ...]
    sender: str
    template_key: str
    min_days_since_previous: int = 0
    attach_letter: bool = False
    starts_interest: bool = False
    requires_approval: bool = False
    fee_kind: str = "NONE"
    fee_value: str = ""
    hold_kind: str = "HOLD"
    hold_cap: str = ""


@dataclass(frozen=True)
class PolicySpec:
    code: str
    name: str
    description: str
    grades: tuple[str, ...]
    stages: tuple[StageSpec, ...] = field(default_factory=tuple)
    # Debtor types served whatever the grade (insights.DebtorType values).
    debtor_types: tuple[str, ...] = ()


STANDARD = PolicySpec(
    code="standard",
    name="Standard (grade B)",
    description="The playbook ladder for normal customers: reminder, call, formal notice, hold, visit, "
    "final notice, legal.",
    grades=("B",),
    stages=(
        StageSpec("Pre-due reminder", -7, (EMAIL,), SALES_REP, "pre-due"),
        StageSpec("Due today", 0, (SMS,), SALES_REP, "due-today", min_days_since_previous=3),
        StageSpec("Friendly reminder", 3, (EMAIL,), SALES_REP, "friendly", min_days_since_previous=3),
        StageSpec("Call", 10, (PHONE_TASK,), COLLECTOR, "call", min_days_since_previous=5),
        StageSpec(
            "Formal notice",
            20,
            (EMAIL,),
            COLLECTOR,
            "formal-notice",
            min_days_since_previous=7,
            attach_letter=True,
            starts_interest=True,
        ),
        StageSpec(
            "Credit hold",
            30,
            (CREDIT_HOLD, EMAIL, PHONE_TASK),
            COLLECTOR,
            "credit-hold",
            min_days_since_previous=7,
        ),
        StageSpec("Visit", 45, (VISIT_TASK,), COLLECTOR, "visit", min_days_since_previous=7),
        StageSpec(
            "Final notice",
            60,
            (LETTER, EMAIL),
            COMPANY,
            "final-notice",
            min_days_since_previous=10,
            requires_approval=True,
            fee_kind="FIXED",
            fee_value="100",
        ),
        StageSpec(
            "Legal referral", 90, (LEGAL_REFERRAL,), LEGAL, "legal-referral", min_days_since_previous=14
        ),
    ),
)

GENTLE = PolicySpec(
    code="gentle",
    name="Gentle (grade A)",
    description="For premium customers: fewer, later reminders that keep the relationship; supply is "
    "limited, not stopped.",
    grades=("A",),
    stages=(
        StageSpec("Pre-due reminder", -7, (EMAIL,), SALES_REP, "pre-due"),
        StageSpec("Friendly reminder", 5, (EMAIL,), SALES_REP, "friendly", min_days_since_previous=5),
        StageSpec("Call", 15, (PHONE_TASK,), COLLECTOR, "call", min_days_since_previous=7),
        StageSpec(
            "Formal notice",
            30,
            (EMAIL,),
            COLLECTOR,
            "formal-notice",
            min_days_since_previous=10,
            attach_letter=True,
        ),
        StageSpec(
            "Limited supply",
            60,
            (CREDIT_HOLD, EMAIL, PHONE_TASK),
            COLLECTOR,
            "credit-hold",
            min_days_since_previous=14,
            hold_kind="LIMITED",
            hold_cap="50000",
            starts_interest=True,
        ),
        StageSpec(
            "Final notice",
            90,
            (LETTER, EMAIL),
            COMPANY,
            "final-notice",
            min_days_since_previous=14,
            requires_approval=True,
        ),
        StageSpec(
            "Legal referral", 120, (LEGAL_REFERRAL,), LEGAL, "legal-referral", min_days_since_previous=21
        ),
    ),
)

FIRM = PolicySpec(
    code="firm",
    name="Firm (grades C and D)",
    description="For watch and high-risk customers: reminders from the first day, the formal notice "
    "within a week, supply stopped at two weeks, a lawyer early.",
    grades=("C", "D"),
    # PLAYBOOK §5: a malicious debtor gets the short ladder and a lawyer early, whatever its grade.
    debtor_types=("MALICIOUS",),
    stages=(
        StageSpec("Pre-due reminder", -10, (EMAIL, SMS), COLLECTOR, "pre-due"),
        StageSpec("Due today", 0, (SMS,), COLLECTOR, "due-today", min_days_since_previous=3),
        StageSpec("Call", 3, (PHONE_TASK,), COLLECTOR, "call", min_days_since_previous=2),
        StageSpec(
            "Formal notice",
            7,
            (EMAIL,),
            COLLECTOR,
            "formal-notice",
            min_days_since_previous=3,
            attach_letter=True,
            starts_interest=True,
            fee_kind="FIXED",
            fee_value="50",
        ),
        StageSpec(
            "Credit hold",
            14,
            (CREDIT_HOLD, EMAIL, PHONE_TASK),
            COLLECTOR,
            "credit-hold",
            min_days_since_previous=5,
        ),
        StageSpec("Visit", 21, (VISIT_TASK,), COLLECTOR, "visit", min_days_since_previous=5),
        StageSpec(
            "Final notice",
            30,
            (LETTER, EMAIL),
            COMPANY,
            "final-notice",
            min_days_since_previous=7,
            requires_approval=True,
        ),
        StageSpec(
            "Legal referral", 45, (LEGAL_REFERRAL,), LEGAL, "legal-referral", min_days_since_previous=10
        ),
    ),
)

SHIPPED_POLICIES: tuple[PolicySpec, ...] = (GENTLE, STANDARD, FIRM)


def policy_install_defaults(*, policy_model: Any, stage_model: Any) -> int:
    """Create the shipped policies that do not exist yet (by code); never touch existing ones.

    Takes the model classes so that a data migration can pass its historical models.
    """
    created = 0
    for spec in SHIPPED_POLICIES:
        if policy_model.objects.filter(code=spec.code).exists():
            continue
        # Migrations older than the debtor types pass a policy model without them.
        with_types = any(f.name == "debtor_types" for f in policy_model._meta.get_fields())
        policy = policy_model.objects.create(
            code=spec.code,
            name=spec.name,
            description=spec.description,
            grades=list(spec.grades),
            **({"debtor_types": list(spec.debtor_types)} if with_types else {}),
        )
        stage_model.objects.bulk_create(
            stage_model(
                policy=policy,
                position=position,
                name=stage.name,
                trigger_days=stage.trigger_days,
                min_days_since_previous=stage.min_days_since_previous,
                channels=list(stage.channels),
                sender=stage.sender,
                template_key=stage.template_key,
                fee_kind=stage.fee_kind,
                fee_value=stage.fee_value,
                attach_letter=stage.attach_letter,
                starts_interest=stage.starts_interest,
                requires_approval=stage.requires_approval,
                hold_kind=stage.hold_kind,
                hold_cap=stage.hold_cap,
            )
            for position, stage in enumerate(spec.stages, start=1)
        )
        created += 1
    return created
