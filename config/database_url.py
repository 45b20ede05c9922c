"""A DATABASE_URL for a database Django is already configured for, to hand to a child process."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

import environ


def database_url(database: Mapping[str, Any]) -> str:
    """The DATABASE_URL that django-environ reads back as `database` (a socket directory as HOST too).

    Raises ValueError when it would not read back the same (an engine or option a URL cannot carry).
    """
    user = quote(str(database.get("USER") or ""), safe="")
    password = quote(str(database.get("PASSWORD") or ""), safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
    host, port = str(database.get("HOST") or ""), str(database.get("PORT") or "")
    name = quote(str(database["NAME"]), safe="")
    if host.startswith("/"):
        url = f"postgres://{credentials}:{port or 5432}/{host}/{name}"
    else:
        url = f"postgres://{credentials}{host}{f':{port}' if port else ''}/{name}"
    options = database.get("OPTIONS") or {}
    if options:
        url += "?" + urlencode(options)
    parsed = environ.Env.db_url_config(url)
    wanted = ("ENGINE", "NAME", "USER", "PASSWORD", "HOST")
    if any(str(parsed.get(k) or "") != str(database.get(k) or "") for k in wanted) or str(
        parsed.get("PORT") or 5432
    ) != str(database.get("PORT") or 5432):
        raise ValueError(f"This database cannot be written as a URL: {database.get('ENGINE')}")
    if {str(k): str(v) for k, v in (parsed.get("OPTIONS") or {}).items()} != {
        str(k): str(v) for k, v in options.items()
    }:
        raise ValueError("This database's OPTIONS cannot be written in a URL.")
    return url
