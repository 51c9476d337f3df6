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


def submit_and_wait_for_reload(page: Any, button: Any, path_part: str) -> None:
    """Press a button whose htmx POST answers with a reload, and wait until the reloaded page is in.

    On SQLite the live server serves the browser on the test's own database connection (an
    in-memory database cannot be opened twice): a test reading the database while the reload is
    still being served would use that connection from two threads at once ("database table is
    locked"). Waiting for the reload first keeps the two apart.
    """
    with page.expect_navigation():
        with page.expect_response(
            lambda answer: answer.request.method == "POST" and path_part in answer.url
        ) as posted:
            button.click()
        answer = posted.value
        assert answer.ok and answer.headers.get("hx-refresh") == "true", (answer.status, answer.headers)


def switch_language(page: Any, language_name: str) -> None:
    """Press the header's button for a language ("简体中文", "English") and wait for the reload."""
    with page.expect_navigation():
        page.locator("form.language").get_by_role("button", name=language_name).click()
