"""Uploaded files, served by the application in every environment (whitenoise serves only static files).

On a tenant host a file is served only if it is one of that tenant's current uploads (today: its logo),
exactly by its stored name, so another tenant's file, an old file, a guessed name and a path with `..` in
it are all the same 404. What is served is always an image we wrote (accounts.logos), sent with its image
type, told not to be sniffed, and sandboxed should anyone open it directly.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_safe

# What we store, by the suffix we gave it; anything else is never served, whatever it contains.
CONTENT_TYPES = {".png": "image/png", ".webp": "image/webp"}


def tenant_upload_names(request: HttpRequest) -> set[str]:
    tenant = request.tenant
    return {tenant.logo.name} if tenant is not None and tenant.logo else set()


@require_safe
def serve_upload(request: HttpRequest, name: str) -> FileResponse:
    content_type = CONTENT_TYPES.get(PurePosixPath(name).suffix.lower())
    if content_type is None or name not in tenant_upload_names(request):
        raise Http404
    try:
        stored = default_storage.open(name, "rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    response = FileResponse(stored, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{PurePosixPath(name).name}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    # Names are never reused (a new upload gets a new one), so a copy may be kept for a day.
    response["Cache-Control"] = "public, max-age=86400"
    return response
