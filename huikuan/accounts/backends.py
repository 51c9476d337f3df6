"""Django's model backend, loading each signed-in user's profile with them in one query.

Every page asks for the user's role (huikuan.accounts.access); without this the profile would
be one more query per request. Enable with
``AUTHENTICATION_BACKENDS = ["huikuan.accounts.backends.ModelBackendWithProfile"]``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class ModelBackendWithProfile(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        user_model = get_user_model()
        try:
            user = user_model._default_manager.select_related("profile").get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
