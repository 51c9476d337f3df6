"""Shared fixtures. Tests run against the database HUIKUAN_DATABASE_URL names (SQLite by default)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"

# Properties are about correctness, not speed: on a busy two-core CI machine a slow first example
# must not fail a run as "flaky" through Hypothesis's per-example deadline.
hypothesis_settings.register_profile("huikuan", deadline=None, print_blob=True)
hypothesis_settings.load_profile("huikuan")


@pytest.fixture
def shared_data() -> Path:
    """The team's real data files beside the project; tests using them skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is not present in this checkout")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _english(settings):
    """Messages are asserted in English unless a test switches language itself."""
    settings.LANGUAGE_CODE = "en"
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    """Rate limits live in the cache: each test starts with its own, empty, in-process cache."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def pytest_report_header(config) -> str:
    return f"database: {os.environ.get('HUIKUAN_DATABASE_URL', 'sqlite (default)')}"
