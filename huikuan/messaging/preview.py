"""Render the messages and scripts of dunning actions without sending anything (the dunning preview).

It goes through delivery's own preparation — same recipient, sender, language, template and
letter — so the preview is what the customer would receive.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from huikuan.collections.models import Task
from huikuan.messaging.context import message_context_for_actions
from huikuan.messaging.delivery import _catalog, _prepare
from huikuan.messaging.models import OutboxMessage, TemplateChannel
from huikuan.messaging.rendering import render_template


def messages_render_preview(*, action_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Return each message and task of these actions, rendered, as plain data."""
    messages = list(
        OutboxMessage.objects.filter(action_id__in=action_ids)
        .select_related("customer", "customer__collector", "customer__sales_rep", "contact")
        .order_by("action_id", "channel")
    )
    previews: list[dict[str, Any]] = []
    for item in _prepare(messages, catalog=_catalog()):
        message = item.message
        previews.append(
            {
                "action_id": message.action_id,
                "kind": "message",
                "channel": message.channel,
                "status": item.outcome.status if item.outcome else message.status,
                "language": message.language,
                "recipient": item.to,
                "subject": message.subject,
                "text": message.body_text if item.outcome is None else item.outcome.error,
                "attachments": [item.attachment[0]] if item.attachment else [],
            }
        )
    tasks = list(Task.objects.filter(action_id__in=action_ids).select_related("action__stage"))
    contexts = message_context_for_actions({task.action_id for task in tasks if task.action_id})
    for task in tasks:
        if task.action is None:
            continue
        context = contexts[task.action.id]
        try:
            script = render_template(
                key=task.action.stage.template_key,
                channel=TemplateChannel.SCRIPT,
                language=context.get("language", ""),
                context=context,
            ).text
        except Exception as error:  # no script for this stage: the task stands without one
            script = str(error)
        previews.append(
            {
                "action_id": task.action_id,
                "kind": "task",
                "channel": task.kind,
                "status": task.status,
                "recipient": str(task.assignee or ""),
                "subject": task.title,
                "text": script,
            }
        )
    return previews
