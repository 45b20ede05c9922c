"""`manage.py operator_ensure`: the first platform operator, from the environment, once.

docker-compose runs it after `migrate` on every start, so it must succeed again when the operator exists:
it then changes nothing (the password in the environment only ever sets the first one; the operator
changes it in the platform admin afterwards). The password is read from the environment only, never from
the command line, where other users of the machine could see it in the process list.
"""

from __future__ import annotations

import os

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from accounts.models import User

EMAIL = "DJANGO_SUPERUSER_EMAIL"
PASSWORD = "DJANGO_SUPERUSER_PASSWORD"
FULL_NAME = "DJANGO_SUPERUSER_FULL_NAME"


class Command(BaseCommand):
    help = (
        f"Creates the platform operator (a superuser) from {EMAIL}, {PASSWORD} and {FULL_NAME}, "
        "unless that operator exists already."
    )

    def handle(self, *args, **options) -> None:  # type: ignore[no-untyped-def]
        missing = [name for name in (EMAIL, PASSWORD, FULL_NAME) if not os.environ.get(name, "").strip()]
        if missing:
            raise CommandError(f"Set {', '.join(missing)} in the environment.")
        email = os.environ[EMAIL].strip().lower()
        full_name = os.environ[FULL_NAME].strip()
        password = os.environ[PASSWORD]
        try:
            validate_email(email)
        except ValidationError as error:
            raise CommandError(f"{EMAIL} is not an email address: {email!r}.") from error

        existing = User.objects.filter(email__iexact=email).first()
        if existing is not None:
            self._check_existing(existing)
            return
        try:
            validate_password(password, User(email=email, full_name=full_name))
        except ValidationError as error:
            raise CommandError(f"{PASSWORD} is too weak: {' '.join(error.messages)}") from error
        try:
            with transaction.atomic():
                User.objects.create_superuser(email, password, full_name=full_name)
        except IntegrityError:
            # Another start made the same operator at the same moment.
            self._check_existing(User.objects.get(email__iexact=email))
            return
        self.stdout.write(self.style.SUCCESS(f"Platform operator {email} created."))

    def _check_existing(self, user: User) -> None:
        if not (user.is_superuser and user.is_active):
            # Someone already has this address (a tenant's staff member, say): promoting them silently would
            # hand them every tenant. That is a decision for a person, in the platform admin.
            raise CommandError(
                f"{user.email} exists but is not an active platform operator; "
                "promote that account deliberately or choose another address."
            )
        self.stdout.write(f"Platform operator {user.email} exists already; nothing changed.")
