"""``huikuan serve``: run the web app for real use — static files collected, then gunicorn.

The static files (our CSS and scripts, htmx, the admin's) are collected into STATIC_ROOT under
names that carry a hash of their content, compressed, and served by WhiteNoise from the same
process with long cache lifetimes, so no separate web server is needed. Gunicorn runs a few
worker processes, each with a few threads.
"""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.utils.translation import gettext as _

# Two single-threaded processes a core: the pages are CPU work in Python, and threads of one
# process wait for each other's interpreter lock. Measured with 20 collectors on 2 cores
# (docs/benchmarks.md, Workbench): 4 × 1 served the worklist and customer page at p95 130-150 ms,
# 2 × 4 at 240-290 ms, for the same load. At most 16: each process holds its own memory.
DEFAULT_WORKERS = min(16, 2 * (os.cpu_count() or 1))
DEFAULT_THREADS = 1


def _env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


def serve_environment() -> dict[str, str]:
    """Return the environment the collecting and serving processes run with."""
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Read by config/settings.py: serve the collected, hashed and compressed files.
    env["HUIKUAN_STATIC_COLLECTED"] = "1"
    env["HUIKUAN_STATIC_ROOT"] = str(settings.STATIC_ROOT)
    return env


def gunicorn_arguments(*, host: str, port: int, workers: int, threads: int, timeout: int) -> list[str]:
    """Return the gunicorn command line for the app."""
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        address,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--timeout",
        str(timeout),
        "--access-logfile",
        "-",
        "--forwarded-allow-ips",
        os.environ.get("HUIKUAN_FORWARDED_ALLOW_IPS", "127.0.0.1"),
    ]


class Command(BaseCommand):
    help = "Serve the web app with a production server (gunicorn), static files included."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
        parser.add_argument(
            "--workers",
            type=int,
            default=_env_int("HUIKUAN_WEB_WORKERS", DEFAULT_WORKERS),
            help="worker processes (default HUIKUAN_WEB_WORKERS or two per core, at most 16)",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=_env_int("HUIKUAN_WEB_THREADS", DEFAULT_THREADS),
            help="threads per worker (default HUIKUAN_WEB_THREADS or 1)",
        )
        parser.add_argument("--timeout", type=int, default=60, help="seconds before a stuck request is cut")
        parser.add_argument(
            "--no-collectstatic", action="store_true", help="serve the static files collected last time"
        )

    def handle(self, *args, **options) -> None:
        if options["workers"] < 1 or options["threads"] < 1:
            raise CommandError(_("--workers and --threads must be at least 1"))
        env = serve_environment()
        if not options["no_collectstatic"]:
            self.stdout.write(_("Collecting static files into %(path)s…") % {"path": settings.STATIC_ROOT})
            collected = subprocess.run(  # noqa: S603 - our own interpreter and command
                [sys.executable, "-m", "huikuan.cli", "collectstatic", "--noinput", "--verbosity", "0"],
                env=env,
                capture_output=True,
                text=True,
            )
            if collected.returncode:
                raise CommandError(
                    _("collecting static files failed:\n%(output)s")
                    % {"output": (collected.stderr or collected.stdout).strip()}
                )
        host, port = options["host"], options["port"]
        shown = f"[{host}]" if ":" in host else host
        self.stdout.write(
            _("Serving on http://%(address)s/ with %(workers)s workers × %(threads)s threads — Ctrl-C stops.")
            % {"address": f"{shown}:{port}", "workers": options["workers"], "threads": options["threads"]}
        )
        self.stdout.flush()
        # Gunicorn takes this process over: no connection of ours may be shared with its workers.
        connections.close_all()
        arguments = gunicorn_arguments(
            host=host,
            port=port,
            workers=options["workers"],
            threads=options["threads"],
            timeout=options["timeout"],
        )
        os.execvpe(arguments[0], arguments, env)  # noqa: S606 - our own interpreter
