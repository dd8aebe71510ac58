"""One error hierarchy: each error the product raises on purpose carries its HTTP status, and the command line
prints its message once, with exit status 2."""

from __future__ import annotations

import pytest

from indexer.update import UnknownDocument, UpdateError
from parasearch import errors
from parasearch.cli import main
from parasearch.types import DocumentError


@pytest.mark.parametrize(("cls", "status"), [
    (errors.InvalidRequest, 400),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.IndexIncompatible, 409),
    (errors.DocumentError, 422),
    (errors.IndexUnavailable, 503),
    (errors.WriteError, 507),
    (errors.NoSpaceError, 507),
    (UpdateError, 409),
    (UnknownDocument, 404),
])
def test_each_error_carries_its_status(cls, status):
    assert issubclass(cls, errors.ParasearchError) and cls.status == status


def test_the_readers_error_is_the_hierarchys():
    assert DocumentError is errors.DocumentError


def test_the_command_line_prints_the_reason_once_and_exits_2(tmp_path, capsys):
    assert main(["rollback", "--index", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"parasearch: no index at {tmp_path / 'nothing'} to roll back"]
    assert main(["generations", "--index", str(tmp_path / "nothing")]) == 2
