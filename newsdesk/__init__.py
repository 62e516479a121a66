"""Newsdesk: question answering over news articles, every sentence cited."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("newsdesk")  # one source of truth: pyproject.toml, as installed
except PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "unknown (not installed)"
