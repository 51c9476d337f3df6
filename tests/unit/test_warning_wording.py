"""Early warnings worded for the collector: every cause the rating run can raise reads as a
sentence with its figures, in English and in Simplified Chinese; odd evidence reads as nothing."""

from __future__ import annotations

import re

import pytest
from django.utils import translation

from huikuan.customers.credit import Figures, RatingOutcome
from huikuan.customers.models import WarningCause
from huikuan.customers.warnings import Thresholds, task_warning_text, warning_causes, warning_evidence_text

THRESHOLDS = Thresholds(
    slowing_days=10,
    volume_drop_percent=50,
    broken_promises=2,
    short_payments=2,
    unreachable=3,
    statements_unanswered=1,
)


def every_cause() -> dict[str, list[dict]]:
    """The causes the run finds for a customer turning bad in every way at once."""
    figures = Figures(
        recent_due=4,
        recent_days_late=4 * 27,
        earlier_due=5,
        earlier_days_late=5 * 6,
        sales_recent_minor=30_000,
        sales_before_minor=100_000,
        promises_broken_recent=3,
        short_payments_recent=2,
        unanswered_streak=4,
        statements_unanswered=1,
    )
    outcome = RatingOutcome(customer_id=1, score=38, grade="D", previous_grade="B", in_force="D")
    return warning_causes(figures, outcome, THRESHOLDS)


def test_the_run_finds_every_cause_for_a_customer_turning_bad_in_every_way():
    assert set(every_cause()) == set(WarningCause)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_cause_the_run_raises_is_worded_with_its_figures(language):
    with translation.override("en"):
        english = {cause: warning_evidence_text(cause, facts) for cause, facts in every_cause().items()}
    with translation.override(language):
        worded = {cause: warning_evidence_text(cause, facts) for cause, facts in every_cause().items()}

    for cause, text in worded.items():
        assert text, cause
        assert "%(" not in text and "{" not in text, text
        if language != "en":
            assert text != english[cause], f"{cause} is not translated: {text}"
            assert re.search(r"[\u4e00-\u9fff]", text), text


@pytest.mark.parametrize(
    ("cause", "english", "chinese"),
    [
        (
            WarningCause.PAYMENTS_SLOWING,
            "Paid 27 days late on average lately against 6 before: 21 days slower (a warning from 10).",
            "最近平均逾期 27 天付款，此前为 6 天：慢了 21 天（达到 10 天即预警）。",
        ),
        (
            WarningCause.ORDERS_FALLING,
            "Sales and orders down 70% on the period before (a warning from 50%).",
            "销售额与订单比上一期下降 70%（下降达到 50% 即预警）。",
        ),
        (
            WarningCause.PROMISES_BROKEN,
            "3 promises to pay broken lately (a warning from 2).",
            "最近有 3 次付款承诺未兑现（达到 2 次即预警）。",
        ),
        (
            WarningCause.UNREACHABLE,
            "4 calls or visits in a row without an answer (a warning from 3).",
            "连续 4 次电话或拜访无人应答（达到 3 次即预警）。",
        ),
        (
            WarningCause.STATEMENTS_UNANSWERED,
            "1 statement of account sent lately got no reply (a warning from 1).",
            "最近发出的对账单有 1 份未获回复（达到 1 份即预警）。",
        ),
        (WarningCause.DOWNGRADE, "Grade lowered from B to D (score 38).", "信用等级由 B 降为 D（评分 38）。"),
    ],
)
def test_the_figures_read_as_a_sentence(cause, english, chinese):
    facts = every_cause()[cause]
    with translation.override("en"):
        assert warning_evidence_text(cause, facts) == english
    with translation.override("zh-hans"):
        assert warning_evidence_text(cause, facts) == chinese


def test_one_and_many_read_in_the_singular_and_the_plural():
    def short_payments(count: int) -> str:
        facts = [{"fact": "short_payments", "value": count}, {"fact": "threshold", "value": 1}]
        with translation.override("en"):
            return warning_evidence_text(WarningCause.SHORT_PAYMENTS, facts)

    assert short_payments(1) == "1 short payment lately (a warning from 1)."
    assert short_payments(5) == "5 short payments lately (a warning from 1)."


def test_a_task_reads_its_cause_from_the_evidence():
    cause, facts = WarningCause.UNREACHABLE, every_cause()[WarningCause.UNREACHABLE]
    with translation.override("en"):
        assert task_warning_text([{"cause": str(cause)}, *facts]) == warning_evidence_text(cause, facts)


@pytest.mark.parametrize(
    "evidence",
    [
        None,
        [],
        {"cause": "unreachable"},
        ["unreachable"],
        [{"cause": "unreachable"}],  # no facts
        [{"cause": "unreachable"}, {"fact": "unanswered_in_a_row", "value": "many"}, {"fact": "threshold"}],
        [{"cause": "no_such_cause"}, {"fact": "threshold", "value": 1}],
        [{"cause": 7}],
        [{"cause": "payments_slowing"}, {"fact": "recent_avg_days_late", "value": None}],
    ],
)
def test_evidence_of_another_shape_reads_as_nothing_rather_than_failing(evidence):
    assert task_warning_text(evidence) == ""
