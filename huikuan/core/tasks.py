"""Diagnostic Celery task: proves that a worker takes tasks from the broker and reaches the database."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@shared_task(ignore_result=False)
def ping() -> dict[str, Any]:
    """Answer with the database the worker uses and whether it is migrated."""
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return {"pong": True, "database": connection.vendor, "migrated": not pending}
