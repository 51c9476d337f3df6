"""The one NinjaAPI of Huikuan, mounted at /api/v1. Each app contributes a router."""

from __future__ import annotations

from ninja import NinjaAPI

api = NinjaAPI(title="Huikuan API", version="1", urls_namespace="api-v1")
