from typing import Any

from django.http import HttpRequest

import lambdalab
from lambdalab.permissions import is_instructor


def site(request: HttpRequest) -> dict[str, Any]:
    """Values every page needs: the version for the footer and the user's role for the nav."""
    user = getattr(request, "user", None)
    return {
        "site_version": lambdalab.__version__,
        "user_is_instructor": bool(user and is_instructor(user)),
    }
