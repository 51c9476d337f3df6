"""The base of every domain error: a stable code for the API and a message a clerk understands."""

from __future__ import annotations


class HuikuanError(Exception):
    """A failure the user can act on. Subclasses set ``code``; the API returns it with a 4xx."""

    code = "invalid"
    status = 400

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class NotFound(HuikuanError):
    code = "not_found"
    status = 404
