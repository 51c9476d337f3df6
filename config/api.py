"""The one NinjaAPI of Huikuan, mounted at /api/v1. Each app contributes a router.

Every operation needs ``Authorization: Bearer <token>`` (see ``huikuan token create``);
the OpenAPI document and the interactive docs are public. A token acts as its user: it reaches
the customers that user's role reaches (:mod:`huikuan.accounts.access`), and a read-only
user's token may only read (any other method answers 403 ``read_only``). Errors are always
``{"code": ..., "message": ...}`` (see :mod:`huikuan.core.api_errors`).
"""

from typing import Any

from django.http import HttpRequest
from ninja import NinjaAPI, Router
from ninja.security import HttpBearer

from huikuan.accounts.access import require_write
from huikuan.banking.api import bank_router
from huikuan.collections.api import collections_router
from huikuan.collections.legal_api import legal_router
from huikuan.core.api_errors import exception_handlers_install
from huikuan.core.auth import api_token_authenticate
from huikuan.core.errors import NotFound
from huikuan.core.schemas import DecimalJsonParser, Utf8JSONRenderer
from huikuan.customers.api import contacts_router, customers_router
from huikuan.customers.credit_api import credit_router
from huikuan.dunning.api import dunning_router
from huikuan.insights.api import insights_router
from huikuan.ledger.api import aging_router, invoices_router, payments_router

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class BearerToken(HttpBearer):
    """Authenticate a request by a per-user API token; ``request.auth`` becomes the user.

    Methods that change things are refused here, once for every router, to read-only users.
    """

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_authenticate(token.strip())
        if user is not None:
            request.user = user
            if request.method not in SAFE_METHODS:
                require_write(user)
        return user


api = NinjaAPI(
    title="Huikuan API",
    version="1",
    description=(
        "Accounts receivable: customers, contacts, invoices, payments and aging. "
        "Send `Authorization: Bearer <token>`; create a token with `huikuan token create USERNAME`. "
        "Money is a decimal string with the currency's exact number of decimals."
    ),
    urls_namespace="api-v1",
    auth=BearerToken(),
    parser=DecimalJsonParser(),
    renderer=Utf8JSONRenderer(),
)
exception_handlers_install(api)

# Before /customers: its /customers/{code}/interactions (promises, disputes, plans) must be matched
# before /customers/{code}, which takes any path.
api.add_router("", collections_router)
api.add_router("/customers", customers_router)
api.add_router("/contacts", contacts_router)
api.add_router("/invoices", invoices_router)
api.add_router("/payments", payments_router)
api.add_router("/aging", aging_router)
api.add_router("/dunning", dunning_router)
api.add_router("/bank", bank_router)
api.add_router("/credit", credit_router)
api.add_router("/insights", insights_router)
api.add_router("/legal", legal_router)

# Last, so that it only answers paths no router knows: a JSON 404 instead of an HTML page.
unknown_router = Router()


@unknown_router.api_operation(
    ["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", auth=None, include_in_schema=False
)
def unknown_path(request: HttpRequest, rest: str) -> Any:
    raise NotFound(f"there is no API endpoint /api/v1/{rest}")


api.add_router("", unknown_router)
