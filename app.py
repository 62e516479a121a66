"""Newsdesk on a Hugging Face Spaces-style host, which runs ``python app.py`` from the repository.

Such hosts say where to listen with Gradio's variables (``GRADIO_SERVER_NAME``, ``GRADIO_SERVER_PORT``,
e.g. 0.0.0.0:7860) and may mount persistent storage at ``/data``; ``NEWSDESK_*`` variables, set in the
host's settings (secrets for ``NEWSDESK_AUTH``), win over both. Everything else is ``newsdesk serve``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping


def hosted_environment(environ: Mapping[str, str], persistent: str = "/data") -> dict[str, str]:
    """The ``NEWSDESK_*`` settings the host implies, for those not set already."""
    implied = {
        "NEWSDESK_HOST": environ.get("GRADIO_SERVER_NAME", ""),
        "NEWSDESK_PORT": environ.get("GRADIO_SERVER_PORT", ""),
        "NEWSDESK_ROOT_PATH": environ.get("GRADIO_ROOT_PATH", ""),
        "NEWSDESK_HOME": f"{persistent}/newsdesk" if os.access(persistent, os.W_OK) else "",
    }
    return {name: value for name, value in implied.items() if value and name not in environ}


if __name__ == "__main__":
    os.environ.update(hosted_environment(os.environ))
    from newsdesk.cli import main

    sys.exit(main(["serve"]))
