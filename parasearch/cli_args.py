"""Command-line arguments that several ``parasearch`` commands share (search, ask, eval)."""

from __future__ import annotations

import argparse


def add_filters(p: argparse.ArgumentParser) -> None:
    """The metadata filters, read back with :meth:`service.search.Filters.of`."""
    p.add_argument("--symbol", action="append", default=[], help="exact symbol or prefix; repeatable")
    p.add_argument("--body", action="append", default=[], help="e.g. 'General Assembly'; repeatable")
    p.add_argument("--type", action="append", default=[], help="e.g. resolution, report; repeatable")
    p.add_argument("--language", action="append", default=[], help="e.g. en, fr; repeatable")
    p.add_argument("--date-from", help="YYYY[-MM[-DD]]")
    p.add_argument("--date-to", help="YYYY[-MM[-DD]]")
