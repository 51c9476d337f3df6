"""A real browser (Chromium, headless, through Playwright) against a live test server.

The browser is Debian's /usr/bin/chromium (HUIKUAN_CHROMIUM names another). Where it is absent
the browser tests skip and say why — except when the environment variable CI is "true": there a
missing browser fails them, so that a CI run cannot pass without having driven one.

The live server (pytest-django's ``live_server``) shares the test database, so every browser test
uses real transactions; ``serialized_rollback`` puts back what the migrations wrote (dunning
policies, message templates) before each test, since a transactional test ends by emptying the
tables. Each test gets its own browser context (cookies, storage), and a fresh browser profile
is made per run.

Screenshots of the main pages go to ``artifacts/screenshots/<database>/<name>.png`` (the
``screenshot`` fixture); CI keeps that folder as the run's artifacts.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.support import PASSWORD

# Playwright's sync API runs an asyncio loop in this thread; Django refuses ORM calls from a
# thread with a running loop unless told that the caller knows the calls are synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parent.parent.parent
CHROMIUM = Path(os.environ.get("HUIKUAN_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Generous: the suite shares two cores with everything else on a CI machine.
TIMEOUT_MS = 20_000


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _unavailable(reason: str) -> None:
    """Skip the browser tests for a missing browser — or fail them in CI, where one must be there."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: the browser tests must run)", pytrace=False)
    pytest.skip(reason)


def _serialized_contents() -> dict[str, str]:
    """What the test databases held after their migrations, as kept for ``serialized_rollback``."""
    from django.db import connections

    return {
        alias: connections[alias]._test_serialized_contents
        for alias in connections
        if hasattr(connections[alias], "_test_serialized_contents")
    }


def _serialized_contents_restore(saved: dict[str, str]) -> None:
    """Hand the kept contents to the connections seen from inside Playwright's sync API.

    Entering ``sync_playwright()`` leaves this thread in another context, where Django's
    per-context connection handler makes new connection objects. When the test databases were
    set up before (database tests ran first), those new objects lack the contents kept for
    ``serialized_rollback``: every browser test after the first would then start from empty
    tables, without the dunning policies and templates the migrations wrote.
    """
    from django.db import connections

    for alias, contents in saved.items():
        if not hasattr(connections[alias], "_test_serialized_contents"):
            connections[alias]._test_serialized_contents = contents


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole run, with its own fresh profile."""
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM}: install it (apt-get install chromium) to run browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    profile = Path(tempfile.mkdtemp(prefix="huikuan-chromium-"))
    saved = _serialized_contents()
    with sync_playwright() as playwright:
        _serialized_contents_restore(saved)
        # A persistent context would tie every test to one set of cookies; a plain launch with
        # the profile's folder as its home gives fresh state per context and nothing from the
        # machine's own Chromium profile.
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            env={**os.environ, "HOME": str(profile), "XDG_CONFIG_HOME": str(profile / "config")},
        )
        try:
            yield chromium
        finally:
            chromium.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def new_page(browser, live_server) -> Iterator[Callable[..., Any]]:
    """Open a page in a context of its own (its own cookies): ``new_page(locale="en-US")``.

    Two users signed in at once (a collector and a colleague) each need their own context.
    """
    contexts = []

    def open_page(*, locale: str = "en-US", width: int = 1280, height: int = 900) -> Any:
        context = browser.new_context(
            base_url=live_server.url,
            locale=locale,
            viewport={"width": width, "height": height},
            timezone_id="Asia/Shanghai",
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page) -> Any:
    """A page whose browser asks for English (Accept-Language: en-US)."""
    return new_page()


def database_label() -> str:
    from django.db import connection

    return "postgresql" if connection.vendor == "postgresql" else connection.vendor


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    """Save a full-page screenshot: ``screenshot(page, "worklist.en")`` → artifacts/screenshots/<db>/…"""
    folder = SCREENSHOTS / database_label()
    folder.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0
        return path

    return take


@pytest.fixture
def make_user() -> Callable[..., Any]:
    """Create a user with a role: ``make_user("li", role="COLLECTOR", first_name="Li")``."""
    from django.contrib.auth import get_user_model

    from huikuan.accounts.models import Profile

    def create(username: str, *, role: str = "COLLECTOR", password: str = PASSWORD, **fields: Any) -> Any:
        user = get_user_model().objects.create_user(username=username, password=password, **fields)
        Profile.objects.create(user=user, role=role)
        return user

    return create
