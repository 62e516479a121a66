"""The ``newsdesk`` command: index, ask, serve.

Heavy libraries are imported inside the commands, so ``newsdesk --help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsdesk.offline import go_offline

if TYPE_CHECKING:
    from newsdesk.rag.pipeline import NewsdeskQA


def settings_from(args: argparse.Namespace) -> Any:
    """Settings from flags (when given) over ``NEWSDESK_*`` variables over defaults."""
    from newsdesk.config import Settings

    flags = {
        "db": args.db,
        "chroma_url": getattr(args, "chroma_url", None),
        # eval's -k is the depth of its retrieval metrics, not NEWSDESK_K
        "k": getattr(args, "k", None) if getattr(args, "command", "") in ("ask", "serve") else None,
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
        "auth_file": getattr(args, "auth_file", None),
        "index_wait": getattr(args, "wait", None),
        "llm": getattr(args, "llm", None),
        "root_path": getattr(args, "root_path", None),
        "watch_every": getattr(args, "every", None),
        "allow_uploads": True if getattr(args, "allow_uploads", False) else None,
    }
    return Settings(**{name: value for name, value in flags.items() if value is not None})


def date_flag(text: str) -> str:
    """A ``--since``/``--until`` value checked as the command line is read, so a typo is a usage error."""
    from newsdesk.dates import parse_day

    try:
        parse_day(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def day_flag(text: str) -> str:
    """An ``--as-of`` value: one whole day, checked as the command line is read."""
    from newsdesk.rag.pipeline import as_of_problem

    problem = as_of_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return text


def cmd_index(args: argparse.Namespace) -> int:
    from newsdesk.index.progress import progress_for
    from newsdesk.wiring import Newsdesk

    desk = Newsdesk(settings_from(args))
    indexer = desk.indexer
    wait = desk.settings.index_wait

    def waiting(pid: int | None) -> None:
        who = f" (pid {pid})" if pid is not None else ""
        print(
            f"newsdesk: another `newsdesk index`{who} is writing to {indexer.folder}; "
            f"waiting up to {wait:g} s for it",
            file=sys.stderr,
            flush=True,
        )

    indexer.on_lock_wait = waiting
    fetched = fetch_sources(desk.settings, args.paths, args.quiet or args.json)
    paths = [Path(p) for p in args.paths if p not in fetched.sources]
    progress = None if args.quiet or args.json else progress_for(sys.stderr)
    try:
        report = indexer.index_paths(
            paths, prune=args.prune, progress=progress, dry_run=args.dry_run, fetched=fetched.result
        )
    finally:
        if progress is not None:
            progress.close()
    chunks = desk.store.count() if not args.dry_run or desk.store.exists() else 0
    nothing_loaded = not (report.added or report.updated or report.unchanged or report.duplicates)
    status = 1 if nothing_loaded and report.skipped else 0
    if args.json:
        print(json.dumps(index_json(report, desk.store.where, chunks), ensure_ascii=False))
        return status
    print_changes(report, args.quiet)
    for problem in report.skipped:
        print(f"skipped: {problem}", file=sys.stderr if args.quiet else sys.stdout)
    if args.prune:
        print_prune_notes(report)
    print(f"unchanged: {len(report.unchanged)} article(s)")
    print(f"index {desk.store.where}: {report.summary()}; {chunks} chunks in all")
    return status


def index_json(report: Any, where: str, chunks: int) -> dict[str, Any]:
    """``index --json``: the run's report, article by article, as one object (README: index --json)."""
    from dataclasses import asdict

    return {"index": where, **asdict(report), "summary": report.summary(), "chunks": chunks}


@dataclass
class Fetched:
    """What ``index`` read from the web (and local feed files) before taking the writer's lock."""

    sources: list[str]
    result: Any


def fetch_sources(settings: Any, arguments: Sequence[str], quiet: bool) -> Fetched:
    """Read the URLs (pages, feeds) and feed files among ``arguments``; network time is spent before
    the writer's lock is taken, so other writers are not held up by a slow site."""
    from newsdesk.index.feeds import SourceLoader, is_feed_file, is_url

    sources = [a for a in arguments if is_url(a) or is_feed_file(Path(a))]
    if not sources:
        return Fetched([], None)
    from newsdesk.index.fetch import fetcher_for

    fetcher = fetcher_for(settings)
    try:
        result = SourceLoader(fetcher).load(sources)
    finally:
        fetcher.close()
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr if quiet else sys.stdout)
    return Fetched(sources, result)


def print_changes(report: Any, quiet: bool = False) -> None:
    """One line per article added, updated, removed or promoted (what a dry run would do), or found a
    duplicate; with ``quiet`` only the articles a prune kept, which the user must hear about."""
    if not quiet:
        would = report.dry_run
        labels = ("would add", "would update", "would remove") if would else ("added", "updated", "removed")
        for label, ids in zip(labels, (report.added, report.updated, report.removed), strict=True):
            for article_id in ids:
                print(f"{label}: {article_id}")
        for promoted in report.promoted:
            print(
                f"{'would promote' if would else 'promoted'}: {promoted.article_id} (read again from its "
                f"file: it was stored as a near-duplicate of {promoted.of}, which is removed)"
            )
        for duplicate in report.duplicates:
            if duplicate.new:
                print(f"duplicate: {duplicate}")
    for kept in report.kept:
        print(f"kept: {kept}")


def print_prune_notes(report: Any) -> None:
    """What ``--prune`` left alone, so that a scoped prune is not mistaken for a full one."""
    if report.elsewhere:
        print(f"left alone: {report.elsewhere} article(s) from other paths (--prune judges only PATHS)")
    if report.without_origin:
        print(
            f"not pruned: {len(report.without_origin)} article(s) with no recorded file (indexed by an "
            "older Newsdesk, or not from a file); index their files again to record it, or remove one "
            "with `newsdesk articles --delete ID`"
        )


def format_answer(answer: Any) -> str:
    lines = [answer.answer]
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for c in answer.citations:
            meta = ", ".join(part for part in (c.source, c.published) if part)
            lines.append(f"[{c.n}] {c.title or c.url}" + (f" ({meta})" if meta else ""))
            lines.append(f"    {c.url}  chars {c.start}-{c.end}")
            if c.also_in:
                lines.append(
                    "    also reported by: "
                    + ", ".join(o.get("source") or o.get("url", "") for o in c.also_in)
                )
            lines.append(f'    "{c.quote}"')
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace) -> int:
    from newsdesk.wiring import Newsdesk

    desk = Newsdesk(settings_from(args))
    qa = desk.qa  # settings first: a bad one is named before the index is looked at
    desk.store.require_articles()
    if args.stream:
        return _ask_streamed(qa, args)
    answer = qa.ask(args.question, source=args.source, since=args.since, until=args.until, as_of=args.as_of)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False))
    else:
        print(format_answer(answer))
        if answer.notice:
            print(f"newsdesk: {answer.notice}", file=sys.stderr)
    return 0


def _ask_streamed(qa: NewsdeskQA, args: argparse.Namespace) -> int:
    """``ask --stream``: the model's words as they come, then the checked answer.

    On the terminal the draft goes to stderr and the checked answer (which may have fewer sentences)
    to stdout, so a pipe gets only what was verified; with ``--json``, one JSON line per event, as
    ``POST /api/ask/stream`` sends them: ``{"event": "delta", "text": ...}`` then
    ``{"event": "answer", "answer": {...}}``.
    """
    from newsdesk.rag.types import Answer

    answer: Answer | None = None
    for item in qa.stream(
        args.question, source=args.source, since=args.since, until=args.until, as_of=args.as_of
    ):
        if isinstance(item, Answer):
            answer = item
        elif args.json:
            print(json.dumps({"event": "delta", "text": item}, ensure_ascii=False), flush=True)
        else:
            print(item, end="", file=sys.stderr, flush=True)
    if answer is None:  # the stream always ends with its answer; say so if it ever did not
        print("newsdesk: the answer stream ended without an answer", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"event": "answer", "answer": answer.to_dict()}, ensure_ascii=False))
        return 0
    print(file=sys.stderr)
    print(format_answer(answer))
    if answer.notice:
        print(f"newsdesk: {answer.notice}", file=sys.stderr)
    return 0


def cmd_articles(args: argparse.Namespace) -> int:
    from newsdesk.wiring import Newsdesk

    desk = Newsdesk(settings_from(args))
    store = desk.store
    store.require_articles()
    if args.delete:
        report = desk.indexer.remove(args.delete, dry_run=args.dry_run)
        print_changes(report)
        for article_id in report.unknown:
            print(
                f"newsdesk: no article {article_id!r} in {store.where} (see `newsdesk articles`)",
                file=sys.stderr,
            )
        done = "would remove" if report.dry_run else "removed"
        print(f"index {store.where}: {done} {len(report.removed)} article(s); {store.count()} chunks in all")
        return 1 if report.unknown or report.kept else 0
    if args.dry_run:
        print("newsdesk: --dry-run goes with --delete ID", file=sys.stderr)
        return 2
    articles = store.articles()
    if args.source:
        outlets = store.outlets()
        outlets.require(args.source)
        wanted = outlets.filters(args.source)
        articles = [a for a in articles if wanted.passes(a.metadata)]
    listed = [a.to_dict() for a in articles]
    if args.json:
        print(json.dumps({"index": store.where, "articles": listed}, ensure_ascii=False))
        return 0
    for item in listed:
        title = item["title"] or "(no title)"
        facts = [item["published"] or "-", item["source"] or "-", f"{item['chunks']} chunk(s)", title]
        print("  ".join([item["id"], *facts, f"[{item['origin'] or 'no recorded file'}]"]))
        for other in item["also_in"]:
            print(
                f"    also in: {other['article_id']}  {other['published'] or '-'}  {other['source'] or '-'}"
            )
    chunks, duplicates = sum(a.chunks for a in articles), sum(len(a.also_in) for a in articles)
    print(f"{len(articles)} article(s), {chunks} chunks, {duplicates} near-duplicate(s) in {store.where}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    import tempfile
    import uuid

    from newsdesk.eval import format_report, run_eval, write_predictions
    from newsdesk.eval.baseline import run_baseline
    from newsdesk.extras import require_extra, require_llm_packages

    if args.baseline:  # named before the eval set is indexed, not after
        require_extra("baseline", "eval --baseline")
    with tempfile.TemporaryDirectory(prefix="newsdesk-eval-") as scratch:
        settings = eval_settings(args, Path(scratch), f"newsdesk-eval-{uuid.uuid4().hex[:12]}")
        require_llm_packages(settings)
        metrics, records, _ = run_eval(Path(args.dir), settings, k=args.k or 10, limit=args.limit)
        if args.predictions:
            write_predictions(Path(args.predictions), records)
        baseline = None
        if args.baseline:
            plain = settings.model_copy(update={"db": None})
            baseline, _, _ = run_baseline(Path(args.dir), plain, k=args.k or 10, limit=args.limit)
    if args.json:
        print(json.dumps({"newsdesk": metrics, "plain": baseline}, ensure_ascii=False))
    else:
        print(format_report(metrics, baseline))
    return 0


def eval_settings(args: argparse.Namespace, scratch: Path, collection: str) -> Any:
    """Settings for an eval run, which never writes into the user's own index.

    The eval's index is the ``--db`` flag's folder or a fresh one in ``scratch``, whatever
    ``NEWSDESK_DB`` says; with ``--chroma-url`` it is a new collection of its own on that server, and
    ``NEWSDESK_CHROMA_URL`` alone is ignored. Other settings (model, retrieval, answer) apply as set.
    """
    settings = settings_from(args)
    return settings.model_copy(
        update={
            "home": scratch / "home",
            "db": args.db if args.db is not None else scratch / "index",
            "chroma_url": args.chroma_url,
            "collection": collection if args.chroma_url else settings.collection,
        }
    )


def cmd_watch(args: argparse.Namespace) -> int:
    from newsdesk.index.fetch import fetcher_for
    from newsdesk.index.watch import FeedState, Watcher, state_path
    from newsdesk.wiring import Newsdesk

    desk = Newsdesk(settings_from(args))
    settings = desk.settings
    feeds = args.feeds or settings.watched_feeds
    state = FeedState(state_path(settings))
    # Without FEED arguments: the watch list, NEWSDESK_WATCH_FEEDS and the feeds added in the app.
    watcher = Watcher(feeds, desk.indexer, fetcher_for(settings), state, followed=not args.feeds)
    if not watcher.round_feeds():
        print(
            "newsdesk: name the feeds to watch (newsdesk watch URL...), set NEWSDESK_WATCH_FEEDS, "
            "or add a feed in the app's Articles tab",
            file=sys.stderr,
        )
        return 2
    every = settings.watch_seconds
    failed_last = [False]

    def chunks() -> int:
        return desk.store.count() if desk.store.exists() else 0  # a first round that failed made no index

    def on_round(number: int, outcome: list[Any]) -> None:
        for feed in outcome:
            print(f"round {number}: {feed.url}: {feed.result}", flush=True)
            if not args.quiet:
                for note in feed.notes:
                    print(f"  note: {note}")
            for problem in feed.problems:
                print(f"  skipped: {problem}")
        ok = sum(1 for feed in outcome if feed.ok)
        more = (
            ""
            if args.rounds is not None and number >= args.rounds
            else f"; next round in {settings.watch_every}"
        )
        print(
            f"round {number} done at {time.strftime('%H:%M:%S')}: {ok} of {len(outcome)} feed(s) polled, "
            f"{len(outcome) - ok} failed (polled again next round); {chunks()} chunks in all{more}",
            flush=True,
        )
        failed_last[0] = ok == 0

    watcher.run(every, args.rounds, on_round)
    return 1 if failed_last[0] else 0


def start_watching(settings: Any) -> None:
    """The watch list for ``serve``: ``NEWSDESK_WATCH_FEEDS`` and the feeds added in the app (read again
    each round, so a feed added in the app is polled from the next round on), polled on a daemon thread
    with an indexer of its own (it takes the index's writer lock like any ``newsdesk index``; the app
    picks up what it writes). A round with no feed costs nothing."""
    from newsdesk.index.fetch import fetcher_for
    from newsdesk.index.watch import FeedState, Watcher, state_path, watch_in_background
    from newsdesk.wiring import Newsdesk

    desk = Newsdesk(settings.model_copy(update={"index_wait": max(settings.index_wait, 60.0)}))
    watcher = Watcher(
        settings.watched_feeds,
        desk.indexer,
        fetcher_for(settings),
        FeedState(state_path(settings)),
        followed=True,
    )
    watch_in_background(
        watcher, settings.watch_seconds, lambda line: print(f"newsdesk: {line}", file=sys.stderr)
    )


def cmd_serve(args: argparse.Namespace) -> int:
    if args.auth is not None:
        print(
            "newsdesk: --auth would show the password to every user of this machine (in `ps`); "
            "put users in a file with `newsdesk passwd FILE USER` and pass --auth-file FILE, "
            "or set NEWSDESK_AUTH=user:password in the environment",
            file=sys.stderr,
        )
        return 2
    from newsdesk.ui.app import serve

    settings = settings_from(args)
    start_watching(settings)
    serve(settings)
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    import getpass

    from newsdesk.ui.guard import set_password

    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.user}: ")
        if getpass.getpass("again: ") != password:
            print("newsdesk: the two passwords differ; nothing changed", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\n")
    set_password(Path(args.file), args.user, password, role="admin" if args.admin else None)
    print(f"{args.file}: {args.user} set (argon2 hash); serve with --auth-file {args.file}")
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    from newsdesk.ui.feedback import FeedbackStore, feedback_path

    store = FeedbackStore(feedback_path(settings_from(args)))
    if args.output in (None, "-"):
        written = store.export(sys.stdout)
    else:
        with open(args.output, "w", encoding="utf-8") as out:
            written = store.export(out)
    counts = store.counts()
    print(
        f"newsdesk: {written} verdicts exported ({counts['up']} up, {counts['down']} down) from {store.path}",
        file=sys.stderr,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    from newsdesk import __version__

    parser = argparse.ArgumentParser(
        prog="newsdesk",
        description="Question answering over news articles; every sentence of every answer is cited.",
        epilog="Every setting is also an environment variable NEWSDESK_<NAME> (see README: Configuration).",
    )
    parser.add_argument("--version", action="version", version=f"newsdesk {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_llm(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--llm",
            choices=["extractive", "openai", "ollama", "local"],
            help="who writes answers: the extractive answerer (default), a model server, or the local "
            "SmolLM2 (or NEWSDESK_LLM; see README: Generated answers)",
        )
        return p

    def with_db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--db", type=Path, help="index folder (default: $NEWSDESK_HOME/index, ./.newsdesk/index)"
        )
        p.add_argument("--chroma-url", help="use a Chroma server http://host:port (or NEWSDESK_CHROMA_URL)")
        return p

    p_index = with_db(
        sub.add_parser("index", help="add or update articles from files, folders, URLs and feeds")
    )
    p_index.add_argument(
        "paths",
        nargs="+",
        help=".txt, .md, .html, .jsonl files or folders of them; http(s) URLs of news pages or of RSS/Atom "
        "feeds; .rss, .atom, .xml feed files (each entry's page is fetched)",
    )
    p_index.add_argument(
        "--prune",
        action="store_true",
        help="remove indexed articles that came from files under PATHS and are no longer there (never "
        "those of a file that could not be read in full in this run, nor articles from other paths)",
    )
    p_index.add_argument(
        "--dry-run", action="store_true", help="print what would be added, updated and removed; write nothing"
    )
    p_index.add_argument("--quiet", action="store_true", help="print only problems and the summary")
    p_index.add_argument(
        "--json", action="store_true", help="print one JSON object: the run's report (see README)"
    )
    p_index.add_argument(
        "--wait",
        type=float,
        metavar="SECONDS",
        help="if another `newsdesk index` is writing to the index, wait up to SECONDS for it "
        "(default: $NEWSDESK_INDEX_WAIT or 0, stop at once)",
    )
    p_index.set_defaults(run=cmd_index)

    p_ask = with_llm(with_db(sub.add_parser("ask", help="answer one question on the terminal")))
    p_ask.add_argument("question")
    p_ask.add_argument("-k", "--k", type=int, help="passages to retrieve (default: 5, or NEWSDESK_K)")
    p_ask.add_argument("--json", action="store_true", help="print one JSON object (see README)")
    p_ask.add_argument(
        "--stream",
        action="store_true",
        help="show a model's words as they come (on stderr; with --json, JSON lines of events), "
        "then the checked answer",
    )
    p_ask.add_argument(
        "--source", action="append", help="only this outlet (repeatable; any case; near-duplicates count)"
    )
    p_ask.add_argument(
        "--since", type=date_flag, help="only articles published on or after YYYY-MM-DD (or YYYY-MM, YYYY)"
    )
    p_ask.add_argument(
        "--until", type=date_flag, help="only articles published on or before YYYY-MM-DD (or YYYY-MM, YYYY)"
    )
    p_ask.add_argument(
        "--as-of",
        type=day_flag,
        metavar="DAY",
        help="the day the question is asked on (YYYY-MM-DD): 'this week', 'yesterday', 'last month' "
        "count back from it (default: the newest article's day)",
    )
    p_ask.set_defaults(run=cmd_ask)

    p_articles = with_db(
        sub.add_parser("articles", help="list the indexed articles, or delete one (--delete ID)")
    )
    p_articles.add_argument("--source", action="append", help="only this outlet (repeatable; any case)")
    p_articles.add_argument("--json", action="store_true", help="print one JSON object")
    p_articles.add_argument(
        "--delete",
        action="append",
        metavar="ID",
        help="remove this article (repeatable): its chunks, its BM25 rows and its near-duplicate record, "
        "so indexing its file again brings it back; takes the writer lock like `index`",
    )
    p_articles.add_argument("--dry-run", action="store_true", help="with --delete: say what would go")
    p_articles.set_defaults(run=cmd_articles)

    p_eval = with_llm(
        sub.add_parser("eval", help="measure retrieval, answers and citations on a question set")
    )
    p_eval.add_argument(
        "--db",
        type=Path,
        help="folder for the eval's own index (default: a temporary folder; never your index, "
        "whatever NEWSDESK_DB says)",
    )
    p_eval.add_argument(
        "--chroma-url", help="index the eval set into a new collection of its own on this Chroma server"
    )
    p_eval.add_argument("dir", help="folder with articles.jsonl and questions.jsonl")
    p_eval.add_argument("-k", "--k", type=int, help="depth of the retrieval metrics (default: 10)")
    p_eval.add_argument("--limit", type=int, help="only the first N questions")
    p_eval.add_argument("--predictions", help="write one JSON line per question to this file")
    p_eval.add_argument("--baseline", action="store_true", help="also run the plain LangChain pipeline")
    p_eval.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p_eval.set_defaults(run=cmd_eval)

    p_serve = with_llm(
        with_db(
            sub.add_parser("serve", help="start the chat app (indexes the demo articles into an empty index)")
        )
    )
    p_serve.add_argument("--host", help="address to bind (default: 127.0.0.1)")
    p_serve.add_argument("--port", type=int, help="port (default: 7860)")
    p_serve.add_argument(
        "-k", "--k", type=int, help="passages retrieved per question (default: 5, or NEWSDESK_K)"
    )
    p_serve.add_argument(
        "--root-path",
        metavar="PREFIX",
        help="URL prefix the app is served under behind a reverse proxy, e.g. /newsdesk "
        "(or NEWSDESK_ROOT_PATH; see docs/deploy.md)",
    )
    p_serve.add_argument(
        "--auth-file",
        type=Path,
        metavar="FILE",
        help="require a login: users and password hashes made by `newsdesk passwd` (or NEWSDESK_AUTH_FILE; "
        "NEWSDESK_AUTH=user:password also works)",
    )
    p_serve.add_argument(
        "--allow-uploads",
        action="store_true",
        help="let every user add and delete articles in the app (or NEWSDESK_ALLOW_UPLOADS; else only "
        "admins of the auth file); refused on a public --host without a login",
    )
    # --auth USER:PASS is refused with a message: a password on the command line shows in `ps`.
    p_serve.add_argument("--auth", help=argparse.SUPPRESS)
    p_serve.set_defaults(run=cmd_serve)

    p_watch = with_db(
        sub.add_parser(
            "watch", help="keep feeds indexed: poll them on a schedule, index what is new or changed"
        )
    )
    p_watch.add_argument(
        "feeds", nargs="*", help="RSS/Atom feed URLs or feed files (default: $NEWSDESK_WATCH_FEEDS)"
    )
    p_watch.add_argument(
        "--every", help="time between polls: 30s, 15m, 1h (default: $NEWSDESK_WATCH_EVERY or 15m)"
    )
    p_watch.add_argument("--rounds", type=int, help="stop after N rounds (default: run until interrupted)")
    p_watch.add_argument("--quiet", action="store_true", help="print only each feed's result and problems")
    p_watch.set_defaults(run=cmd_watch)

    p_passwd = sub.add_parser(
        "passwd", help="add a user, or change a password, in an auth file (stored as an argon2 hash)"
    )
    p_passwd.add_argument("file", help="the auth file (created with mode 0600)")
    p_passwd.add_argument("user")
    p_passwd.add_argument(
        "--admin", action="store_true", help="make the user an admin: may add and delete articles in the app"
    )
    p_passwd.set_defaults(run=cmd_passwd)

    p_feedback = sub.add_parser("feedback", help="readers' verdicts on answers (thumbs up/down, comments)")
    feedback_sub = p_feedback.add_subparsers(dest="action", required=True)
    p_export = with_db(
        feedback_sub.add_parser(
            "export", help="write every verdict as JSON lines: question, answer, verdict, comment, citations"
        )
    )
    p_export.add_argument("-o", "--output", help="file to write (default: standard output)")
    p_export.set_defaults(run=cmd_feedback)
    return parser


FILE_ARGUMENTS = frozenset({"paths", "file", "dir", "predictions"})
"""Arguments that name files: a file name may hold any bytes, so these are not checked as text."""


def argument_problem(args: argparse.Namespace) -> str | None:
    """The first argument that is not valid text (a byte that is not UTF-8, kept by Python as a lone
    surrogate), in words, else None: it would fail deep inside (the tokenizer, the JSON output)."""
    from newsdesk.text import first_unicode_problem

    for name, value in vars(args).items():
        if name in FILE_ARGUMENTS:
            continue
        label = f"the {name}" if name in ("question", "user") else f"--{name.replace('_', '-')}"
        problem = first_unicode_problem(value, label)
        if problem is not None:
            return f"{problem}; check the terminal's encoding (UTF-8 is expected)"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    go_offline()
    args = build_parser().parse_args(argv)
    bad_argument = argument_problem(args)
    if bad_argument is not None:
        print(f"newsdesk: {bad_argument}", file=sys.stderr)
        return 2
    from pydantic import ValidationError

    from newsdesk.errors import NewsdeskError

    try:
        return int(args.run(args))
    except ValidationError as error:
        for problem in error.errors():
            name = str(problem["loc"][0]) if problem["loc"] else "setting"
            print(
                f"newsdesk: NEWSDESK_{name.upper()} (or its flag) is invalid: {problem['msg']}, "
                f"got {problem.get('input')!r}",
                file=sys.stderr,
            )
        return 2
    except UnicodeDecodeError as error:  # e.g. a password piped to `passwd` that is not UTF-8
        print(
            f"newsdesk: the input is not UTF-8 text ({error.reason} at byte {error.start})", file=sys.stderr
        )
        return 2
    except ValueError as error:
        print(f"newsdesk: {error}", file=sys.stderr)
        return 2
    except NewsdeskError as error:
        print(f"newsdesk: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("newsdesk: interrupted; run the same command again to finish", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
