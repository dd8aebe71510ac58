"""API keys on the HTTP service: FastAPI dependencies for the admin and the read endpoints.

A key comes in ``Authorization: Bearer KEY`` or ``X-API-Key: KEY`` and is checked against the key file of the
index directory being served (``app.state.index_dir``; see :mod:`parasearch.keys`), re-read when it changes, so a
key created or revoked with ``parasearch keys`` counts from the next request, without a restart.

* :func:`require_admin` (the ``/admin/...`` endpoints): always an ``admin`` key.
* :func:`search_access` (``/search``, ``/answer``, ``/documents...``): open, unless
  ``PARASEARCH_SEARCH_REQUIRES_KEY`` is set (``1``): then a ``search`` or ``admin`` key.

No key: 401 with ``WWW-Authenticate: Bearer``; a wrong or revoked key, or one without the scope: 403. With no key
file (or no ``app.state.index_dir``) the reason says how to create a key. A key file that cannot be read refuses
every protected request (503) rather than falling back to an older list of keys.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from parasearch.keys import ApiKey, KeyStore, KeyStoreError
from parasearch.settings import settings

log = logging.getLogger("parasearch")

SEARCH_REQUIRES_KEY_ENV = "PARASEARCH_SEARCH_REQUIRES_KEY"
CREATE_HINT = "create one with `parasearch keys create NAME --index DIR{scope}` on the server"

_bearer = HTTPBearer(auto_error=False, description="An API key (`parasearch keys create`) as a bearer token")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key (`parasearch keys create`)")


def search_requires_key() -> bool:
    """Whether the read endpoints need a key: ``PARASEARCH_SEARCH_REQUIRES_KEY`` set to anything but empty,
    ``0``, ``false``, ``no`` or ``off`` (an unrecognised value requires a key: it fails closed)."""
    return settings().search_requires_key


def key_store(request: Request) -> KeyStore | None:
    """The app's key store, for ``app.state.index_dir`` (None when the app serves no index directory)."""
    state = request.app.state
    index_dir = getattr(state, "index_dir", None)
    if index_dir is None:
        return None
    store = getattr(state, "key_store", None)
    if store is None or store.index_dir != Path(index_dir):
        store = state.key_store = KeyStore(Path(index_dir))
    return store


async def presented_key(
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header: Annotated[str | None, Security(_header)],
) -> str | None:
    """The key the request carries: ``X-API-Key``, else ``Authorization: Bearer``."""
    for value in (header, bearer.credentials if bearer else None):
        if value and value.strip():
            return value.strip()
    return None


def _check(request: Request, key: str | None, scopes: tuple[str, ...], what: str) -> ApiKey:
    store = key_store(request)
    try:
        configured = store is not None and store.configured()
    except KeyStoreError as exc:
        log.error("API keys unavailable: %s", exc)
        raise HTTPException(503, "API keys are unavailable: the server's key file cannot be read "
                                 "(see the server log)") from None
    scope = "" if "search" not in scopes else " --scope search"  # the default scope is admin
    if key is None:
        reason = f"{what} needs an API key, in `Authorization: Bearer KEY` or `X-API-Key: KEY`"
        if not configured:
            reason += f"; none is configured: {CREATE_HINT.format(scope=scope)}"
        raise HTTPException(401, reason, headers={"WWW-Authenticate": "Bearer"})
    if store is None or not configured:
        raise HTTPException(403, f"this API key is not valid: no API key is configured; "
                                 f"{CREATE_HINT.format(scope=scope)}")
    found = store.lookup(key)
    if found is None:
        log.info("refused %s %s: unknown or revoked API key", request.method, request.url.path)
        raise HTTPException(403, "this API key is not valid (unknown or revoked)")
    if not found.allows(*scopes):
        log.info("refused %s %s: key %r lacks scope %s", request.method, request.url.path, found.name,
                 " or ".join(scopes))
        raise HTTPException(403, f"this API key lacks the {' or '.join(scopes)} scope {what} needs")
    request.state.api_key = found.name  # who, for logs
    return found


async def require_admin(request: Request, key: Annotated[str | None, Depends(presented_key)]) -> ApiKey:
    """An ``admin`` key, always."""
    return _check(request, key, ("admin",), "this admin endpoint")


async def search_access(request: Request, key: Annotated[str | None, Depends(presented_key)]) -> ApiKey | None:
    """Nothing while search is open (the default; any key given is then not looked at); with
    ``PARASEARCH_SEARCH_REQUIRES_KEY`` set, a ``search`` or ``admin`` key."""
    if not search_requires_key():
        return None
    return _check(request, key, ("search", "admin"), "this endpoint")


AdminKey = Annotated[ApiKey, Depends(require_admin)]
SearchAccess = Annotated[ApiKey | None, Depends(search_access)]

__all__ = ["AdminKey", "SearchAccess", "require_admin", "search_access", "search_requires_key"]
