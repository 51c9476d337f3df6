"""Writes of collections work: tasks and what they carry."""

from __future__ import annotations

import logging

from django.db import transaction

from huikuan.collections.models import Task

log = logging.getLogger(__name__)

SCRIPT_BATCH = 500


def task_scripts_render(*, run_id: int | None = None, batch_size: int = SCRIPT_BATCH) -> int:
    """Write the suggested script (话术) into call, visit and legal tasks that have none yet.

    The dunning run creates tasks set-based and leaves the script empty so that it stays fast;
    this renders each stage's SCRIPT template in the customer's language right after, batch by
    batch, and may be run again at any time (it only fills what is empty). Returns tasks filled.
    """
    from huikuan.messaging.context import message_context_for_actions
    from huikuan.messaging.models import TemplateChannel
    from huikuan.messaging.rendering import template_catalog_load

    pending = Task.objects.filter(script="", action__isnull=False)
    if run_id is not None:
        pending = pending.filter(action__run_id=run_id)
    catalog = template_catalog_load()
    filled = 0
    last_id = 0
    while True:
        tasks = list(
            pending.filter(id__gt=last_id).select_related("action__stage").order_by("id")[:batch_size]
        )
        if not tasks:
            return filled
        last_id = tasks[-1].id
        contexts = message_context_for_actions({task.action_id for task in tasks if task.action_id})
        changed = []
        for task in tasks:
            if task.action is None:
                continue
            context = contexts.get(task.action.id)
            if context is None:
                continue
            try:
                rendered = catalog.render(
                    key=task.action.stage.template_key,
                    channel=TemplateChannel.SCRIPT,
                    language=str(context.get("language", "")),
                    context=context,
                )
            except Exception as error:  # a stage without a script keeps its task; say why once
                log.warning("no script for task %s: %s", task.id, error)
                continue
            task.script = rendered.text
            changed.append(task)
        with transaction.atomic():
            Task.objects.bulk_update(changed, ["script"])
        filled += len(changed)
