"""How every API failure becomes ``{"code": ..., "message": ...}`` with a 4xx status.

Domain errors carry their own code and status (:class:`huikuan.core.errors.HuikuanError`);
this module adds the codes of the API layer itself and maps framework exceptions onto them,
so that bad input never surfaces as a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from huikuan.core.errors import HuikuanError, NotFound

logger = logging.getLogger(__name__)

# Codes of the API layer; domain codes live beside the errors that raise them.
VALIDATION_ERROR = "validation_error"
MALFORMED_JSON = "malformed_json"
UNAUTHORIZED = "unauthorized"
FORBIDDEN = "forbidden"
NOT_FOUND = "not_found"
CONFLICT = "conflict"
BAD_REQUEST = "bad_request"

_CODES_BY_STATUS = {400: BAD_REQUEST, 401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT}
# Where a value came from is in the location tuple; clients want the field, not "body".
_SOURCES = {
    "body",
    "query",
    "path",
    "header",
    "cookie",
    "form",
    "file",
    "payload",
    "filters",
    "ninja_pagination",
}


class InvalidInput(HuikuanError):
    """A request field the schema let through but which still cannot be used as given."""

    code = VALIDATION_ERROR
    status = 400


class InvalidReference(HuikuanError):
    """A request names a customer, invoice or user that does not exist (the URL itself is fine)."""

    status = 400


@contextmanager
def referenced() -> Iterator[None]:
    """Report a missing record named in a request body as 400, keeping its specific code."""
    try:
        yield
    except NotFound as error:
        raise InvalidReference(error.message, code=error.code)


def error_body(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(part) for part in loc if str(part) not in _SOURCES]
    return ".".join(parts) or "request body"


def validation_message(errors: list[dict[str, Any]]) -> str:
    """Return one readable line per field: "amount: Input should be a valid decimal"."""
    lines = []
    for error in errors:
        message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
        lines.append(f"{_field(error.get('loc', ()))}: {message}")
    return "; ".join(dict.fromkeys(lines))


def exception_handlers_install(api: NinjaAPI) -> None:
    """Register the handlers that give every failure the same JSON shape."""

    def respond(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
        return api.create_response(request, error_body(code, message), status=status)

    @api.exception_handler(HuikuanError)
    def on_domain_error(request: HttpRequest, exc: HuikuanError) -> HttpResponse:
        return respond(request, exc.status, exc.code, exc.message)

    @api.exception_handler(ValidationError)
    def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return respond(request, 400, VALIDATION_ERROR, validation_message(exc.errors))

    @api.exception_handler(DjangoValidationError)
    def on_model_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        if hasattr(exc, "error_dict"):
            message = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
        else:
            message = " ".join(exc.messages)
        return respond(request, 400, VALIDATION_ERROR, message)

    @api.exception_handler(AuthenticationError)
    def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = respond(
            request, 401, UNAUTHORIZED, "a valid API token is required: send 'Authorization: Bearer <token>'"
        )
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(HttpError)
    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if exc.status_code == 400 and exc.__cause__ is not None:
            # ninja raises HttpError(400) from the parser's exception when the body is not JSON.
            return respond(
                request, 400, MALFORMED_JSON, f"the request body is not valid JSON: {exc.__cause__}"
            )
        code = _CODES_BY_STATUS.get(exc.status_code, BAD_REQUEST if exc.status_code < 500 else "error")
        return respond(request, exc.status_code, code, str(exc))

    @api.exception_handler(Http404)
    def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return respond(request, 404, NOT_FOUND, str(exc) or "not found")

    @api.exception_handler(ObjectDoesNotExist)
    def on_missing_object(request: HttpRequest, exc: ObjectDoesNotExist) -> HttpResponse:
        return respond(request, 404, NOT_FOUND, str(exc) or "not found")

    @api.exception_handler(IntegrityError)
    def on_integrity_error(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
        # Reached when two requests race past a service's own uniqueness check.
        logger.info("integrity error answered with 409: %s", exc)
        return respond(
            request, 409, CONFLICT, "the request conflicts with a record saved at the same moment; try again"
        )
