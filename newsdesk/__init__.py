"""Newsdesk: question answering over news articles, every sentence cited."""

__version__ = "0.1.0"
