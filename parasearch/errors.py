"""The errors parasearch reports to its users, each with the HTTP status it stands for.

Every error the product raises on purpose is a :class:`ParasearchError`: its message is written for the person
who reads it (what went wrong and, where there is one, what to do), and its ``status`` says how the service
answers it. The app maps them all with one handler (``service.app``: the status and ``{"detail": message}``), and
the command line catches them once (``parasearch.cli.main``: ``parasearch: message`` on standard error, exit 2).
Anything else is a bug: a 500 with no details for an HTTP client, a traceback on the command line.
"""

from __future__ import annotations

from typing import ClassVar


class ParasearchError(Exception):
    """Base class: a failure the user can act on; ``str(exc)`` says what and why."""

    status: ClassVar[int] = 500


class InvalidRequest(ParasearchError, ValueError):
    """A request that cannot be answered as asked: a bad date, mode, sort or page (400)."""

    status = 400


class NotFound(ParasearchError, LookupError):
    """A document, language version or paragraph that is not in the index (404)."""

    status = 404


class Conflict(ParasearchError):
    """A change the index cannot take as asked: adding a document twice, removing the last one (409)."""

    status = 409


class DocumentError(ParasearchError, ValueError):
    """A file that cannot be read as a document: corrupt, empty, of another format, too large (422).

    An indexing run reports it by the file's name and goes on with the other files."""

    status = 422


class IndexUnavailable(ParasearchError):
    """No usable index where one was asked for: missing, incomplete, or not loadable (503)."""

    status = 503


class IndexIncompatible(IndexUnavailable):
    """An index this code or this model cannot use as it is: another format, model or number of dense arms (409).

    Rebuilding the index, or naming the model it was built with, fixes it."""

    status = 409


class WriteError(ParasearchError):
    """An index that could not be written (an I/O error, a lock that cannot be taken): nothing was published and
    the previous generation is unchanged (507)."""

    status = 507


class NoSpaceError(WriteError):
    """A :class:`WriteError` for want of space: a full disk, a quota, a limit on the size of a file."""


__all__ = [
    "Conflict",
    "DocumentError",
    "IndexIncompatible",
    "IndexUnavailable",
    "InvalidRequest",
    "NoSpaceError",
    "NotFound",
    "ParasearchError",
    "WriteError",
]
