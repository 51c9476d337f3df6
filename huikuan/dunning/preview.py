"""What one customer would receive on a date, rendered exactly as delivery would render it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from huikuan.core.errors import NotFound
from huikuan.customers.models import Customer
from huikuan.dunning.engine import RunResult, dunning_run
from huikuan.dunning.models import DunningAction


@dataclass
class Preview:
    kind: str  # "message", "task" or "credit_hold"
    channel: str
    stage: str
    invoices: list[str]
    amount: str
    currency: str
    status: str = ""
    language: str = ""
    recipient: str = ""
    subject: str = ""
    text: str = ""
    attachments: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def as_text(self) -> str:
        head = f"[{self.channel.lower()}] {self.stage} · {self.amount} {self.currency} · {', '.join(self.invoices)}"
        lines = [head]
        if self.recipient:
            lines.append(f"To: {self.recipient}")
        if self.subject:
            lines.append(f"Subject: {self.subject}")
        if self.attachments:
            lines.append(f"Attached: {', '.join(self.attachments)}")
        if self.status:
            lines.append(f"Status: {self.status}")
        if self.text:
            lines += ["", self.text.rstrip()]
        return "\n".join(lines)


def _render_actions(action_ids: list[int]) -> list[Preview]:
    from huikuan.messaging.preview import messages_render_preview

    actions = {
        action.id: action
        for action in DunningAction.objects.filter(id__in=action_ids).select_related("stage", "customer")
    }
    invoice_numbers: dict[int, list[str]] = {}
    for action in actions.values():
        invoice_numbers[action.id] = list(
            action.invoice_lines.order_by("invoice__due_date", "invoice__number").values_list(
                "invoice__number", flat=True
            )
        )
    previews: list[Preview] = []
    for rendered in messages_render_preview(action_ids=action_ids):
        action = actions[rendered["action_id"]]
        previews.append(
            Preview(
                kind=rendered["kind"],
                channel=rendered["channel"],
                stage=action.stage.name,
                invoices=invoice_numbers[action.id],
                amount=_amount(action),
                currency=action.currency,
                status=rendered.get("status", ""),
                language=rendered.get("language", ""),
                recipient=rendered.get("recipient", ""),
                subject=rendered.get("subject", ""),
                text=rendered.get("text", ""),
                attachments=rendered.get("attachments", []),
            )
        )
    for action in actions.values():
        if "CREDIT_HOLD" in action.stage.channels:
            previews.append(
                Preview(
                    kind="credit_hold",
                    channel="CREDIT_HOLD",
                    stage=action.stage.name,
                    invoices=invoice_numbers[action.id],
                    amount=_amount(action),
                    currency=action.currency,
                    text=f"{action.stage.get_hold_kind_display()}",
                )
            )
    return previews


def _amount(action: DunningAction) -> str:
    from huikuan.core.money import from_minor

    return str(from_minor(action.amount_minor, action.currency))


def dunning_preview(*, customer_code: str, as_of: date, now: datetime | None = None) -> list[Preview]:
    """Return every message, task and hold the run of ``as_of`` gives (or gave) this customer."""
    customer = Customer.objects.filter(code=customer_code).first()
    if customer is None:
        raise NotFound(f"no customer with code {customer_code!r}")
    done = list(DunningAction.objects.filter(customer=customer, as_of=as_of).values_list("id", flat=True))
    if done:
        return _render_actions(done)
    previews: list[Preview] = []

    def render(result: RunResult) -> None:
        ids = list(
            DunningAction.objects.filter(run_id=result.run_id, customer=customer).values_list("id", flat=True)
        )
        previews.extend(_render_actions(ids))

    dunning_run(
        as_of=as_of, now=now, dry_run=True, customer_id=customer.id, list_actions=False, inspect=render
    )
    return previews
