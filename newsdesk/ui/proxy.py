"""Serving behind a reverse proxy: the sub-path, and whose ``X-Forwarded-For`` to believe.

uvicorn's own proxy-header support does the work: a request whose peer is one of
``NEWSDESK_TRUSTED_PROXIES`` is known by the right-most address of its ``X-Forwarded-For`` that is
not itself a trusted proxy (the visitor, as the nearest proxy saw it; what a visitor writes into the
header stands to the left of it and is ignored), and by its ``X-Forwarded-Proto`` scheme. A request
from anyone else is known by its own address, whatever headers it sends, so rate limits and login
throttling stay per visitor and cannot be dodged by a forged header. ``NEWSDESK_ROOT_PATH`` is the
prefix a proxy strips (``location /newsdesk/ { proxy_pass http://app/; }``): the app's links carry it.
"""

from __future__ import annotations

from typing import Any

from newsdesk.config import Settings


def uvicorn_settings(settings: Settings) -> dict[str, Any]:
    """``uvicorn.Config`` arguments for the address, the sub-path and the trusted proxies.

    Logging is set up by ``newsdesk.ui.observe`` (``log_config=None``), which also writes the access
    log (uvicorn's is off). With no trusted proxy, proxy headers are not read at all (uvicorn would
    otherwise believe 127.0.0.1 by default, so any local user could pick an address).
    """
    trusted = settings.trusted_proxies
    return {
        "host": settings.host,
        "port": settings.port,
        "root_path": settings.root_path,
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted or None,
        "log_config": None,
        "log_level": "warning",
        "access_log": False,
        "timeout_graceful_shutdown": 5,
    }
