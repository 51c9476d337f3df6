"""What browser tests do often: sign in through the form, switch the language."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

PASSWORD = "Correct-Horse-9"


def sign_in(page: Any, username: str, password: str = PASSWORD, *, next_url: str = "/") -> None:
    """Sign in through the login form, as a person would, and wait for the page it leads to."""
    page.goto(f"/accounts/login/?next={quote(next_url)}")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    with page.expect_navigation():
        page.locator("#id_password").press("Enter")


def switch_language(page: Any, language_name: str) -> None:
    """Press the header's button for a language ("简体中文", "English") and wait for the reload."""
    with page.expect_navigation():
        page.locator("form.language").get_by_role("button", name=language_name).click()
