"""Logos: only real PNG, JPEG or WebP images of bounded size, judged by content and stored re-encoded; and
uploads served by the application, only to their own tenant, only as images."""

from __future__ import annotations

import importlib
import io
import os
import re
import struct
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django_scopes import scopes_disabled
from PIL import Image, PngImagePlugin

from accounts.models import Role, Tenant
from tests.factories import UserFactory

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
STORED_NAME = re.compile(r"^tenant-logos/[0-9a-f]{32}\.png$")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


# --- files ---------------------------------------------------------------------------------------------


def image_bytes(image_format: str, size: tuple[int, int] = (60, 30), **save: object) -> bytes:
    mode = "RGB" if image_format == "JPEG" else "RGBA"
    image = Image.new(mode, size, (200, 30, 60) if mode == "RGB" else (200, 30, 60, 128))
    out = io.BytesIO()
    image.save(out, format=image_format, **save)
    return out.getvalue()


def png_with_comment(text: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", text)
    return image_bytes("PNG", pnginfo=info)


def jpeg_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010E] = "Secret description"  # ImageDescription
    exif[0x0131] = "Camera software 1.0"  # Software
    return image_bytes("JPEG", exif=exif.tobytes())


def png_header_only(width: int, height: int) -> bytes:
    """A few hundred bytes that claim width × height pixels: what a decompression bomb looks like."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def noise_png(side: int) -> bytes:
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + os.urandom(64)  # a jar or zip riding behind an image
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"

REFUSED = {
    "svg": (SVG, "logo.svg", "image/svg+xml", "This file is not one"),
    "svg named png": (SVG, "logo.png", "image/png", "This file is not one"),
    "html named png": (HTML, "logo.png", "image/png", "This file is not one"),
    "png with html after its end": (image_bytes("PNG") + HTML, "logo.png", "image/png", "a plain image"),
    "jpeg with html after its end": (image_bytes("JPEG") + HTML, "logo.jpg", "image/jpeg", "a plain image"),
    "png with a zip after its end": (image_bytes("PNG") + ZIP, "logo.png", "image/png", "after the end"),
    "webp with data after its end": (image_bytes("WEBP") + ZIP, "logo.webp", "image/webp", "after the end"),
    "png with script in a chunk": (
        png_with_comment("<script>alert(1)</script>"),
        "l.png",
        "image/png",
        "not only",
    ),
    "gif": (image_bytes("GIF"), "logo.gif", "image/gif", "This file is not one"),
    "truncated png": (image_bytes("PNG")[:60], "logo.png", "image/png", "This file is not one"),
    "too many bytes": (noise_png(600), "logo.png", "image/png", "must be 512"),
    "too many pixels": (image_bytes("PNG", size=(2100, 2100)), "logo.png", "image/png", "too many pixels"),
    "decompression bomb": (png_header_only(40000, 40000), "logo.png", "image/png", "too many pixels"),
}
ACCEPTED = {
    "png": (png_with_comment("Made with Secret Editor"), "logo.png", "image/png"),
    "jpeg": (jpeg_with_exif(), "logo.jpeg", "image/jpeg"),
    "webp": (image_bytes("WEBP"), "logo.webp", "image/webp"),
    "jpeg declared as anything": (image_bytes("JPEG"), "logo.txt", "text/html"),
}


def organisation_post(upload: SimpleUploadedFile | None = None) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Northshire Council",
        "primary_colour": "#1d70b8",
        "accent_colour": "#0b0c0c",
        "time_zone": "Europe/London",
    }
    if upload is not None:
        data["logo"] = upload
    return data


@pytest.fixture
def admin_client(tenant, client_for, member_of) -> Client:
    return client_for(tenant, member_of(tenant, Role.ADMINISTRATOR))


def stored_image(tenant: Tenant) -> Image.Image:
    tenant.refresh_from_db()
    assert STORED_NAME.match(tenant.logo.name), tenant.logo.name
    with default_storage.open(tenant.logo.name) as stored:
        image = Image.open(io.BytesIO(stored.read()))
        image.load()
    return image


# --- the tenant admin's Organisation page and the platform admin's tenant page ---------------------------


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_the_organisation_page_refuses_what_is_not_a_small_plain_image(
    case: str, tenant, admin_client, media_root
) -> None:
    content, name, content_type, message = REFUSED[case]
    response = admin_client.post(
        f"/admin/accounts/tenant/{tenant.pk}/change/",
        organisation_post(SimpleUploadedFile(name, content, content_type=content_type)),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in str(errors["logo"]), errors
    tenant.refresh_from_db()
    assert not tenant.logo
    assert not list(media_root.rglob("*.*"))


@pytest.mark.parametrize("case", ACCEPTED, ids=list(ACCEPTED))
def test_the_organisation_page_stores_an_image_as_a_png_without_metadata(
    case: str, tenant, admin_client
) -> None:
    content, name, content_type = ACCEPTED[case]
    response = admin_client.post(
        f"/admin/accounts/tenant/{tenant.pk}/change/",
        organisation_post(SimpleUploadedFile(name, content, content_type=content_type)),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    image = stored_image(tenant)
    assert image.format == "PNG" and image.size == (60, 30)
    assert not {"Comment", "exif", "Software"} & set(image.info)
    assert image.getpixel((0, 0))[:3] == pytest.approx((200, 30, 60), abs=8)


def test_the_organisation_page_offers_only_images_to_pick(tenant, admin_client) -> None:
    page = admin_client.get(f"/admin/accounts/tenant/{tenant.pk}/change/").content.decode()
    assert 'accept="image/png,image/jpeg,image/webp"' in page


def platform_tenant_post(logo: SimpleUploadedFile) -> dict[str, object]:
    return {
        "name": "Eastwick",
        "slug": "eastwick",
        "time_zone": "Europe/London",
        "primary_colour": "#1d70b8",
        "accent_colour": "#0b0c0c",
        "is_active": "on",
        "logo": logo,
        "domain_set-TOTAL_FORMS": "1",
        "domain_set-INITIAL_FORMS": "0",
        "domain_set-0-host": "eastwick.localhost",
        "domain_set-0-is_primary": "on",
        "membership_set-TOTAL_FORMS": "0",
        "membership_set-INITIAL_FORMS": "0",
    }


def test_the_platform_admin_checks_and_re_encodes_logos_too(db) -> None:
    client = Client(HTTP_HOST="localhost")
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    refused = client.post(
        "/admin/accounts/tenant/add/", platform_tenant_post(SimpleUploadedFile("l.png", HTML, "image/png"))
    )
    assert refused.status_code == 200 and "This file is not one" in str(
        refused.context["adminform"].form.errors["logo"]
    )
    assert not Tenant.objects.filter(slug="eastwick").exists()

    webp = SimpleUploadedFile("l.webp", image_bytes("WEBP"), "image/webp")
    assert client.post("/admin/accounts/tenant/add/", platform_tenant_post(webp)).status_code == 302
    assert stored_image(Tenant.objects.get(slug="eastwick")).format == "PNG"


def test_any_save_re_encodes_and_checks_a_new_logo(tenant) -> None:
    tenant.logo = ContentFile(SVG, name="logo.png")
    with pytest.raises(ValidationError), transaction.atomic():
        tenant.save()
    tenant.logo = ContentFile(jpeg_with_exif(), name="logo.jpg")
    tenant.save()
    image = stored_image(tenant)
    assert image.format == "PNG" and "exif" not in image.info


# --- serving uploads ----------------------------------------------------------------------------------


def with_logo(tenant: Tenant, content: bytes | None = None) -> str:
    tenant.logo = ContentFile(content or image_bytes("PNG"), name="logo.png")
    tenant.save()
    return tenant.logo.url


def test_a_tenants_logo_is_served_as_the_png_we_wrote_with_safe_headers(tenant, client_for) -> None:
    url = with_logo(tenant, png_with_comment("<b>not markup, just a comment</b>"))
    response = client_for(tenant).get(url)

    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    with default_storage.open(tenant.logo.name) as stored:
        assert body == stored.read()
    assert body.startswith(PNG_SIGNATURE) and b"not markup" not in body
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == f'inline; filename="{tenant.logo.name.split("/")[-1]}"'
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert client_for(tenant).head(url).status_code == 200
    assert client_for(tenant).post(url).status_code == 405


def test_the_portal_shows_the_logo_from_the_media_view(tenant, client_for) -> None:
    url = with_logo(tenant)
    assert url.startswith("/media/tenant-logos/")
    assert f'src="{url}"' in client_for(tenant).get("/").content.decode()


def test_another_tenants_logo_is_404_on_this_host(tenant, other_tenant, client_for) -> None:
    theirs = with_logo(other_tenant)
    with_logo(tenant)
    assert client_for(other_tenant).get(theirs).status_code == 200
    assert client_for(tenant).get(theirs).status_code == 404
    assert Client(HTTP_HOST="localhost").get(theirs).status_code == 404  # nor on the platform host


@pytest.mark.parametrize(
    "path",
    [
        "/media/../config/settings/base.py",
        "/media/tenant-logos/../../config/settings/base.py",
        "/media/%2e%2e/%2e%2e/etc/passwd",
        "/media//etc/passwd",
        "/media/tenant-logos/..%2f..%2fmanage.py",
        "/media/tenant-logos/",
        "/media/planted.html",
        "/media/tenant-logos/old.png",
    ],
)
def test_traversal_and_files_that_are_not_a_current_upload_are_404(
    path: str, tenant, client_for, media_root
) -> None:
    with_logo(tenant)
    (media_root / "planted.html").write_bytes(HTML)
    (media_root / "tenant-logos" / "old.png").write_bytes(image_bytes("PNG"))
    assert client_for(tenant).get(path).status_code == 404


def test_a_legacy_logo_that_is_not_our_png_is_never_served(tenant, client_for, media_root) -> None:
    (media_root / "tenant-logos").mkdir()
    (media_root / "tenant-logos" / "logo.svg").write_bytes(SVG)
    with scopes_disabled():
        Tenant.objects.filter(pk=tenant.pk).update(logo="tenant-logos/logo.svg")
    assert client_for(tenant).get("/media/tenant-logos/logo.svg").status_code == 404


def test_the_migration_re_encodes_good_legacy_logos_and_clears_the_rest(
    tenant, other_tenant, media_root
) -> None:
    from django.apps import apps

    migration = importlib.import_module("accounts.migrations.0004_tenant_logo_reencoded")
    (media_root / "tenant-logos").mkdir()
    (media_root / "tenant-logos" / "north.jpg").write_bytes(jpeg_with_exif())
    (media_root / "tenant-logos" / "south.svg").write_bytes(SVG)
    Tenant.objects.filter(pk=tenant.pk).update(logo="tenant-logos/north.jpg")
    Tenant.objects.filter(pk=other_tenant.pk).update(logo="tenant-logos/south.svg")

    migration.reencode_existing_logos(apps, None)

    assert stored_image(tenant).format == "PNG"
    other_tenant.refresh_from_db()
    assert not other_tenant.logo
