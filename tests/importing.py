"""Helpers for tests that run the public ``huikuan import`` command."""

from __future__ import annotations

import csv
from io import StringIO
from pathlib import Path

from django.core.management import CommandError, call_command


def write_csv(path: Path, rows: list[list], encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        csv.writer(handle).writerows(rows)
    return path


def run_import(*args) -> tuple[int, str, str]:
    """Run `huikuan import` in-process; return (exit code, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    try:
        call_command("import", *map(str, args), "--no-progress", stdout=out, stderr=err)
    except CommandError as error:
        return error.returncode, out.getvalue(), err.getvalue() + str(error)
    return 0, out.getvalue(), err.getvalue()
