"""The ``huikuan`` console command: Django's management commands under one name.

``huikuan migrate`` creates or upgrades the database; any other command run against a
database that is not migrated stops with one line saying so, instead of a traceback.
"""

from __future__ import annotations

import os
import sys

# Commands that work before (or without) a migrated database.
NO_DATABASE_NEEDED = {
    "migrate", "makemigrations", "help", "--help", "-h", "version", "--version", "check",
    "compilemessages", "makemessages", "shell", "dbshell", "showmigrations", "sqlmigrate",
    "collectstatic", "test", "demo",
}  # fmt: skip


def database_needs_migrating() -> str | None:
    """Return a one-line reason when the database lacks tables or migrations, else None."""
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.migrations.executor import MigrationExecutor

    connection = connections[DEFAULT_DB_ALIAS]
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as error:  # an unreachable server or unreadable file says so plainly
        return f"cannot open the database ({error.__class__.__name__}: {str(error).strip().splitlines()[0]})"
    if pending:
        return "the database is not set up or is out of date: run `huikuan migrate` first"
    return None


def main(argv: list[str] | None = None) -> None:
    """Run a Huikuan command."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    argv = list(sys.argv if argv is None else argv)
    argv[0] = "huikuan"
    import django
    from django.core.management import execute_from_command_line

    django.setup()
    command = argv[1] if len(argv) > 1 else "help"
    asks_for_help = bool({"-h", "--help"} & set(argv[2:]))
    if command not in NO_DATABASE_NEEDED and not asks_for_help:
        problem = database_needs_migrating()
        if problem:
            print(f"huikuan: {problem}", file=sys.stderr)
            raise SystemExit(1)
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
