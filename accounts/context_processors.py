from django.http import HttpRequest

from .models import Role
from .permissions import membership_for


def tenant(request: HttpRequest) -> dict[str, object]:
    return {
        "tenant": getattr(request, "tenant", None),
        "membership": membership_for(request) if getattr(request, "tenant", None) else None,
        "Role": Role,
    }
