"""API keys: the key file beside an index's generations, and the checks the service makes against it.

``DIR/keys.json`` sits in the index directory next to ``CURRENT`` and the ``gen-*`` generations, so it survives
rebuilds, rollbacks and generation swaps (:mod:`parasearch.indexfiles` only removes ``gen-*`` directories). It
holds, per key, its name, the SHA-256 of the key (never the key: a key is 256 random bits, so a fast hash is
enough and a slow one would only cost every request), its scopes and when it was created (UTC, ISO 8601)::

    {"version": 1, "keys": [{"name": "ops", "sha256": "…", "scopes": ["admin"], "created": "2025-…Z"}]}

It is replaced atomically (a temporary file, then ``os.replace``) with mode 0600, under a lock file so that two
``parasearch keys`` commands at once do not lose each other's change. :class:`KeyStore` re-reads it when its
modification time, size or inode changes, so a revocation takes effect in a running service at its next request.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parasearch.errors import ParasearchError

KEY_FILE = "keys.json"
LOCK_FILE = ".keys.lock"
KEY_PREFIX = "ps_"
FORMAT_VERSION = 1
SCOPES = ("admin", "search")
DEFAULT_SCOPES = ("admin",)
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class KeyStoreError(ParasearchError):
    """A key command that cannot be done (a name taken or unknown, no index directory), or an unreadable key
    file; the message says why."""

    status = 503  # the service maps it itself (service.auth): keys unavailable


@dataclass(frozen=True)
class ApiKey:
    name: str
    sha256: str
    scopes: tuple[str, ...]
    created: str

    def allows(self, *scopes: str) -> bool:
        """Whether the key holds any of ``scopes``."""
        return any(s in self.scopes for s in scopes)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "scopes": list(self.scopes), "created": self.created}


def key_file(index_dir: Path) -> Path:
    return Path(index_dir) / KEY_FILE


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def _parse(path: Path, text: str) -> list[ApiKey]:
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION or not isinstance(data.get("keys"),
                                                                                                 list):
            raise ValueError(f"not a version {FORMAT_VERSION} key file")
        keys = []
        for row in data["keys"]:
            digest = row["sha256"]
            if not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest)):
                raise ValueError(f"key {row.get('name')!r} has no valid sha256")
            keys.append(ApiKey(name=str(row["name"]), sha256=digest,
                               scopes=tuple(s for s in row["scopes"] if s in SCOPES), created=str(row["created"])))
        return keys
    except (ValueError, KeyError, TypeError) as exc:
        raise KeyStoreError(f"the key file {path} cannot be read: {exc}") from None


def read_keys(index_dir: Path) -> list[ApiKey]:
    """The keys of ``index_dir`` (none when it has no key file)."""
    path = key_file(index_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise KeyStoreError(f"the key file {path} cannot be read: {exc}") from None
    return _parse(path, text)


def _write(index_dir: Path, keys: list[ApiKey]) -> None:
    path = key_file(index_dir)
    body = json.dumps({"version": FORMAT_VERSION, "keys": [k.to_json() for k in keys]}, indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{KEY_FILE}.", suffix=".tmp")  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _locked(index_dir: Path) -> Iterator[None]:
    index_dir = Path(index_dir)
    if not index_dir.is_dir():
        raise KeyStoreError(f"no index directory at {index_dir} (the key file is kept in the index directory: "
                            "build the index first, or check --index)")
    fd = os.open(index_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def create_key(index_dir: Path, name: str, scopes: list[str] | tuple[str, ...] | None = None
               ) -> tuple[str, ApiKey]:
    """A new key named ``name`` with ``scopes`` (default: admin), stored by its hash; returns ``(key, entry)``.
    The key itself is not kept anywhere: this is the only time it is known."""
    if not NAME_RE.match(name):
        raise KeyStoreError(f"invalid key name {name!r}: use 1 to 64 letters, digits and . _ @ -, "
                            "starting with a letter or digit")
    scopes = tuple(dict.fromkeys(scopes or DEFAULT_SCOPES))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise KeyStoreError(f"unknown scope {unknown[0]!r} (scopes: {', '.join(SCOPES)})")
    with _locked(index_dir):
        keys = read_keys(index_dir)
        if any(k.name == name for k in keys):
            raise KeyStoreError(f"a key named {name!r} already exists (revoke it first, or choose another name)")
        key = new_key()
        created = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        entry = ApiKey(name=name, sha256=hash_key(key), scopes=scopes, created=created)
        _write(index_dir, [*keys, entry])
    return key, entry


def revoke_key(index_dir: Path, name: str) -> ApiKey:
    """Remove the key named ``name``; returns its entry."""
    with _locked(index_dir):
        keys = read_keys(index_dir)
        gone = [k for k in keys if k.name == name]
        if not gone:
            raise KeyStoreError(f"no key named {name!r} in {key_file(index_dir)}")
        _write(index_dir, [k for k in keys if k.name != name])
    return gone[0]


def match_key(keys: list[ApiKey], key: str) -> ApiKey | None:
    """The entry of ``key`` among ``keys``, or None. Every stored hash is compared, in constant time each."""
    digest = hash_key(key)
    found = None
    for k in keys:
        if hmac.compare_digest(k.sha256, digest):
            found = k
    return found


class KeyStore:
    """The keys of one index directory, re-read when the key file's modification time, size or inode changes.

    ``configured()`` is False while there is no key file or it lists no key. An unreadable file raises
    :class:`KeyStoreError` at every lookup until it is fixed: it never falls back to an older list, which
    could still hold a revoked key.
    """

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = Path(index_dir)
        self.path = key_file(self.index_dir)
        self._lock = threading.Lock()
        self._signature: tuple[int, int, int] | None = None  # mtime (ns), size, inode
        self._keys: list[ApiKey] = []

    def keys(self) -> list[ApiKey]:
        try:
            st = os.stat(self.path)
            signature = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            signature = None
        with self._lock:
            if signature is None:
                self._signature, self._keys = None, []
            elif signature != self._signature:
                keys = read_keys(self.index_dir)  # raises on a broken file; the signature stays unset
                self._signature, self._keys = signature, keys
            return self._keys

    def configured(self) -> bool:
        return bool(self.keys())

    def lookup(self, key: str) -> ApiKey | None:
        return match_key(self.keys(), key)
