"""Offline always: no model hub, no telemetry, whatever the caller's environment says.

Set once, by each entry point (the ``newsdesk`` command, the benchmarks, the test session), before
any library that reads these variables is imported.
"""

from __future__ import annotations

import os

OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}


def go_offline() -> None:
    os.environ.update(OFFLINE_ENVIRONMENT)
