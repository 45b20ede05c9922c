"""Tenant logos: only still PNG, JPEG or WebP images within LOGO_MAX_BYTES and LOGO_MAX_PIXELS, judged by
their content (never by the name or the declared type), and stored as a PNG we wrote ourselves.

Pillow decodes the upload; what is kept is a fresh PNG of its pixels, so metadata, comments, trailing
bytes and anything else riding along in the file are gone. Files that are also something else (markup
inside, or data after the image's end) are refused outright rather than cleaned, so an administrator hears
about it. The media view (`accounts.media`) serves only what this wrote, as an image.
"""

from __future__ import annotations

import io
import secrets
import struct
import warnings
from typing import IO, Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.db import models
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP")
ACCEPT_ATTRIBUTE = "image/png,image/jpeg,image/webp"
# Browsers sniff for these; a real photograph or drawing never contains them as text.
MARKUP = (b"<script", b"<html", b"<svg", b"<!doctype", b"<body", b"<iframe", b"<object", b"<embed", b"<?php")
NOT_AN_IMAGE = _("Upload a PNG, JPEG or WebP image. This file is not one (or is damaged).")


def logo_upload_to(instance: Any, filename: str) -> str:
    # Never the uploaded name: ours, unguessable, and always the type we wrote.
    return f"tenant-logos/{secrets.token_hex(16)}.png"


def logo_reencoded(upload: IO[bytes] | File) -> ContentFile:
    """The upload re-encoded as a PNG, or ValidationError saying what is wrong with it."""
    max_bytes = settings.LOGO_MAX_BYTES
    too_big = ValidationError(
        _("The logo must be %(limit)s or smaller."),
        code="too_big",
        params={"limit": filesizeformat(max_bytes)},
    )
    if (getattr(upload, "size", None) or 0) > max_bytes:
        raise too_big
    upload.seek(0)
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise too_big
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image_format = _checked(data)
            with Image.open(io.BytesIO(data), formats=[image_format]) as image:
                image.load()
                pixels = _still_pixels(image)
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _too_many_pixels() from error
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        struct.error,
    ) as error:
        raise ValidationError(NOT_AN_IMAGE, code="not_an_image") from error
    encoded = io.BytesIO()
    pixels.save(encoded, format="PNG", optimize=True)  # no info passed on: no metadata written
    return ContentFile(encoded.getvalue(), name="logo.png")


def _checked(data: bytes) -> str:
    """The file's format after the cheap checks (header only, nothing decoded yet)."""
    with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as probe:
        width, height = probe.size
        if width * height > settings.LOGO_MAX_PIXELS:
            raise _too_many_pixels()
        if getattr(probe, "n_frames", 1) > 1:
            raise ValidationError(_("Upload a still image, not an animation."), code="animated")
        image_format = probe.format
        probe.verify()
    lowered = data.lower()
    if image_format not in ACCEPTED_FORMATS or any(marker in lowered for marker in MARKUP):
        raise ValidationError(_("This file is not only an image; upload a plain image."), code="polyglot")
    if _end_of_image(image_format, data) != len(data):
        raise ValidationError(
            _("This file has data after the end of the image; upload a plain image."), code="polyglot"
        )
    return image_format


def _too_many_pixels() -> ValidationError:
    return ValidationError(
        _("The logo has too many pixels: it may have at most %(limit)s (for example 2000 × 2000)."),
        code="too_many_pixels",
        params={"limit": f"{settings.LOGO_MAX_PIXELS:,}"},
    )


def _end_of_image(image_format: str, data: bytes) -> int:
    """Where the image's own structure says the file ends."""
    if image_format == "PNG":
        offset = 8
        while offset + 8 <= len(data):
            (length,) = struct.unpack(">I", data[offset : offset + 4])
            chunk_type = data[offset + 4 : offset + 8]
            offset += 12 + length
            if chunk_type == b"IEND":
                return offset
        return -1
    if image_format == "WEBP":
        (riff_size,) = struct.unpack("<I", data[4:8])
        return 8 + riff_size
    # JPEG: the last end-of-image marker; some encoders pad with zero bytes after it.
    end = data.rfind(b"\xff\xd9")
    return len(data) if end != -1 and not data[end + 2 :].strip(b"\x00") else -1


def _still_pixels(image: Image.Image) -> Image.Image:
    image = ImageOps.exif_transpose(image)  # keep a photo's intended orientation once its EXIF is gone
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


class LogoFormField(forms.FileField):
    """Refuses anything but a small still PNG, JPEG or WebP with a clear error, and hands on a PNG."""

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        return {**super().widget_attrs(widget), "accept": ACCEPT_ATTRIBUTE}

    def to_python(self, data: Any) -> Any:
        upload = super().to_python(data)
        return None if upload is None else logo_reencoded(upload)


class LogoField(models.FileField):
    """A FileField whose every new file is re-encoded before it is stored, whoever saves it."""

    def formfield(self, **kwargs: Any) -> forms.Field:
        return super().formfield(**{"form_class": LogoFormField, **kwargs})

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        file = getattr(model_instance, self.attname)
        if file and not file._committed:
            setattr(model_instance, self.attname, logo_reencoded(file))
        return super().pre_save(model_instance, add)
