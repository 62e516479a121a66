"""What an operator watches: structured logs, one access-log line per request, Prometheus metrics.

- ``JsonLines``: every log record of the app (``newsdesk.*``) and of uvicorn as one JSON object per
  line on stderr, which log shippers (journald, Vector, Fluent Bit, Loki's agents) parse as it is.
- ``AccessLog``: ASGI middleware writing one ``newsdesk.access`` record per HTTP request when its
  response ends (streams included): method, path (never the query string, which holds questions),
  status, duration, bytes sent and the client address (behind a trusted proxy, the visitor's).
- ``AppMetrics``: the app's own Prometheus registry (no process-wide state): questions by outcome
  (answered, abstained, refused busy = HTTP 503, refused over the rate limit = HTTP 429), answer
  latency, questions in progress, the index's generation and chunk count, and the process's CPU and
  memory, in the text format ``GET /metrics`` serves.
"""

from __future__ import annotations

import json
import logging
import logging.config
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, ProcessCollector
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from newsdesk.rag.types import Answer

ACCESS_LOGGER = "newsdesk.access"
METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
"""Seconds: extractive answers take tenths of a second, a model's answer up to its read timeout."""


class JsonLines(logging.Formatter):
    """A log record as one JSON object: time (UTC), level, logger, message, and its ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Route Newsdesk's and uvicorn's loggers to stderr as JSON lines (uvicorn's own access log is off:
    ``AccessLog`` writes one line per request instead)."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"json": {"()": JsonLines}},
            "handlers": {"stderr": handler},
            "loggers": {
                "newsdesk": {"handlers": ["stderr"], "level": level, "propagate": False},
                "uvicorn": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
                "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            },
        }
    )


def log_fields(**fields: Any) -> dict[str, Any]:
    """``extra=`` for a logging call whose fields become keys of its JSON line."""
    return {"fields": fields}


class AccessLog:
    """ASGI middleware: one ``newsdesk.access`` line per HTTP request, written when the response ends."""

    def __init__(self, app: Any, logger: logging.Logger | None = None) -> None:
        self.app = app
        self.logger = logger or logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        response = {"status": 0, "bytes": 0}

        async def watched(message: Any) -> None:
            if message["type"] == "http.response.start":
                response["status"] = int(message["status"])
            elif message["type"] == "http.response.body":
                response["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            response["status"] = response["status"] or 500
            raise
        finally:
            client = scope.get("client")
            self.logger.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                response["status"],
                extra=log_fields(
                    method=scope["method"],
                    path=scope["path"],
                    status=response["status"],
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                    bytes=response["bytes"],
                    client=client[0] if client else "",
                ),
            )


class IndexState(Protocol):
    """What the metrics read of the index at each scrape."""

    @property
    def generation(self) -> int: ...

    def count(self) -> int: ...


class AppMetrics:
    """The app's metrics in a registry of its own; ``observe`` counts each answer given to a visitor.

    ``watch`` connects the numbers the guards and the index keep themselves (read at each scrape).
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._lock = threading.Lock()
        self._outcomes = {"answered": 0, "abstained": 0}
        self.refusals: Callable[[], Mapping[str, int]] = dict
        self.activity: Callable[[], Mapping[str, int]] = dict
        self.index: IndexState | None = None
        self.latency = Histogram(
            "newsdesk_answer_seconds",
            "Seconds from a question to its checked answer (answered or abstained).",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_Readings(self))
        ProcessCollector(registry=self.registry)

    def watch(
        self,
        refusals: Callable[[], Mapping[str, int]],
        activity: Callable[[], Mapping[str, int]],
        index: IndexState,
    ) -> None:
        """Read questions turned away (by reason), questions in progress and the index at each scrape."""
        self.refusals, self.activity, self.index = refusals, activity, index

    def observe(self, answer: Answer, seconds: float) -> None:
        with self._lock:
            self._outcomes["abstained" if answer.abstained else "answered"] += 1
        self.latency.observe(seconds)

    def outcomes(self) -> dict[str, int]:
        with self._lock:
            return dict(self._outcomes)

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format."""
        return generate_latest(self.registry)


class _Readings(Collector):
    """Counters and gauges read from their owners at scrape time."""

    def __init__(self, metrics: AppMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        questions = CounterMetricFamily(
            "newsdesk_questions",
            "Questions by outcome: answered, abstained, busy (refused: HTTP 503), rate_limited (HTTP 429).",
            labels=["outcome"],
        )
        for outcome, count in self.metrics.outcomes().items():
            questions.add_metric([outcome], count)
        for reason, count in self.metrics.refusals().items():
            questions.add_metric([reason], count)
        yield questions
        activity = GaugeMetricFamily(
            "newsdesk_questions_in_progress",
            "Questions being answered or waiting for a slot.",
            labels=["state"],
        )
        for state, count in self.metrics.activity().items():
            if state in ("asking", "waiting"):
                activity.add_metric([state], count)
        yield activity
        index = self.metrics.index
        if index is None:
            return
        yield GaugeMetricFamily(
            "newsdesk_index_generation",
            "Views of the index opened by this process; grows when it picks up newly indexed articles.",
            value=index.generation,
        )
        try:
            chunks = index.count()
        except Exception as error:  # an unreachable Chroma server: the other metrics are still served
            logging.getLogger("newsdesk.metrics").warning(
                "index chunk count unavailable", extra=log_fields(error=str(error))
            )
            return
        yield GaugeMetricFamily("newsdesk_index_chunks", "Chunks in the index.", value=chunks)
