"""Every ``PARASEARCH_*`` environment variable, in one typed object.

:func:`settings` looks at the environment each time it is called, so a variable set for a process, a test or a
reloaded app is seen by the next call; the validated object is kept while the ``PARASEARCH_*`` variables keep
their values, so a call costs microseconds and may be made per request. A blank variable counts as unset. A
value of the wrong type is an :class:`InvalidSetting` that names the variable (``PARASEARCH_ANSWER_RATE must be
a number, got 'fast'``).

The table of variables in ``docs/configuration.md`` is generated from this class
(``python -m parasearch.settings > docs/configuration.md``) and a test checks that it is current.
"""

from __future__ import annotations

import functools
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BeforeValidator, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from parasearch.defaults import REPO_ROOT
from parasearch.errors import ParasearchError

PREFIX = "PARASEARCH_"
OFF = ("off", "none", "0", "false")


class Mode(StrEnum):
    """How search ranks paragraphs: BM25 and the dense arms fused (the default), the dense arms, or BM25."""

    HYBRID = "hybrid"
    DENSE = "dense"
    BM25 = "bm25"


MODES: tuple[str, ...] = tuple(m.value for m in Mode)


class InvalidSetting(ParasearchError, ValueError):
    """An environment variable with a value of the wrong type or out of range (a server misconfiguration)."""

    status = 500


def _fail_closed(value: object) -> bool:
    """Anything but blank, 0, false, no or off turns the flag on: an unrecognised value fails closed."""
    return str(value).strip().lower() not in ("", "0", "false", "no", "off")


FailClosedFlag = Annotated[bool, BeforeValidator(_fail_closed)]


class Settings(BaseSettings):
    """The environment variables, each named ``PARASEARCH_`` + the field's name in capitals."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, env_ignore_empty=True, extra="ignore",
                                      case_sensitive=False, frozen=True)

    # -- index and models --------------------------------------------------------------------------------
    index: Path = Field(REPO_ROOT / ".index" / "default",
                        description="The index directory a command uses when it is given no `--index`.")
    model: str | None = Field(None, description="The models of a new index, names or paths joined by `+` (default "
                                                "`multilingual-e5-small+all-MiniLM-L6-v2`).")
    encoder: Literal["onnx", "onnx-int8", "torch"] | None = Field(
        None, description="The encoder backend (default: each model's own: `onnx-int8` for multilingual-e5-small, "
                          "`onnx` for the others).")
    onnx_threads: int | None = Field(None, ge=1, description="Threads of an ONNX encoder (default: the CPUs this "
                                                             "process may use).")
    onnx_token_budget: int = Field(1024, ge=1, description="Word pieces per ONNX batch when embedding paragraphs.")
    onnx_spin: bool = Field(False, description="Let ONNX Runtime's threads spin while waiting (faster batches, "
                                               "busier CPUs).")
    onnx_cache: Path | None = Field(None, description="Where ONNX exports of the models are kept (default "
                                                      "`~/.cache/parasearch/onnx`).")
    model_cache: Path | None = Field(None, description="Where converted models are kept (default "
                                                       "`~/.cache/parasearch/models`).")
    faiss_threads: int = Field(1, ge=1, description="FAISS threads per search (1: requests run in parallel "
                                                    "instead).")
    keep_generations: int = Field(3, ge=1, description="Index generations kept for `parasearch rollback`, the "
                                                       "current one included.")
    max_file_bytes: int = Field(50 * 1024 * 1024, ge=0, description="The largest file the readers are given "
                                                                     "(0: no limit).")
    # -- search and answers ------------------------------------------------------------------------------
    reranker: str = Field("", description="The learned re-ranker's model file, or `off` for the fused order "
                                          "(default: the model that comes with the project).")
    lexicon: str = Field("", description="The query-translation lexicon, or `off` (default: the one that comes "
                                         "with the project).")
    answer_threshold: float | None = Field(None, description="The extractive answer's not-found threshold "
                                                             "(default: the one calibrated for the answer model).")
    answer_rate: float = Field(60.0, ge=0, description="Answers per minute per client (a token bucket; 0: no "
                                                       "limit).")
    answer_burst: int = Field(30, ge=1, description="Answers a client may ask for at once (the bucket's size).")
    answer_concurrency: int = Field(4, ge=0, description="Answers computed at once, server-wide (0: no cap).")
    answer_queue_seconds: float = Field(5.0, ge=0, description="How long an answer may wait for a free slot.")
    llm_url: str = Field("", description="An OpenAI-compatible chat-completions server for generative answers "
                                         "(default: extractive answers only).")
    llm_model: str = Field("default", description="The model name sent to that server.")
    llm_api_key: str | None = Field(None, description="Sent as `Authorization: Bearer ...` when set.")
    llm_timeout: float = Field(30.0, gt=0, description="Seconds to connect, to wait for the reply, and between "
                                                       "two pieces of it.")
    llm_token_budget: int = Field(3000, ge=100, description="Tokens (cl100k_base) the prompt may use, passages "
                                                            "included.")
    llm_max_tokens: int = Field(400, ge=1, description="Tokens the model may write.")
    llm_max_bytes: int = Field(1_000_000, ge=1, description="The most bytes a reply may have.")
    # -- the HTTP service --------------------------------------------------------------------------------
    search_requires_key: FailClosedFlag = Field(False, description="Require a `search` or `admin` API key on the "
                                                                   "read endpoints (any value but blank, 0, false, "
                                                                   "no or off).")
    cors_origins: str = Field("", description="Origins allowed to call the API and embed the widget, "
                                              "comma-separated (`*`: any).")
    official_url: str = Field("", description="A link to a document's official copy, with `{symbol}` and "
                                              "`{language}` in it.")
    public_url: str = Field("", description="The service's address as its users reach it (for links in the "
                                            "widget), e.g. `https://search.example.org/parasearch`.")
    max_body_bytes: int = Field(1 << 20, ge=0, description="The largest request body (except uploads).")
    max_upload_bytes: int = Field(50 << 20, ge=0, description="The largest document uploaded to the admin API.")
    reload_seconds: float = Field(2.0, ge=0, description="How often `serve` looks for a new index generation "
                                                            "(0: only on SIGHUP or `POST /admin/reload`).")
    log_format: Literal["text", "json"] = Field("text", description="`text`, or `json`: one JSON object per line.")
    log_queries: bool = Field(False, description="Put the query text in the access log.")
    malloc_arenas: int = Field(2, ge=0, description="At most this many malloc arenas (a flat resident size; 0: "
                                                    "glibc's default).")
    # -- evaluation --------------------------------------------------------------------------------------
    eval_cache: Path | None = Field(None, description="Where `parasearch eval` writes its indexes and reports "
                                                      "(default `~/.cache/parasearch/eval`).")


def env_name(field: str) -> str:
    return PREFIX + field.upper()


def _reason(error: Any) -> str:
    kind = str(error.get("type", ""))
    if kind.startswith(("float", "int")):
        return "must be a number" + (" (a whole one)" if kind.startswith("int") else "")
    if kind.startswith("bool"):
        return "must be true or false"
    return f"is invalid ({error.get('msg', '')})"


def settings() -> Settings:
    """The settings as the environment gives them now; :class:`InvalidSetting` names a variable that is wrong.

    Validating the variables takes about 2 ms, too much for every request: the settings are kept for as long as
    the ``PARASEARCH_*`` variables keep their values (a look at the environment is microseconds)."""
    return _settings_for(tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith(PREFIX))))


@functools.lru_cache(maxsize=8)
def _settings_for(variables: tuple[tuple[str, str], ...]) -> Settings:
    """The settings for these ``PARASEARCH_*`` variables (the key; Settings reads them from the environment)."""
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error.get("loc") else "?"
        raise InvalidSetting(f"{env_name(field)} {_reason(error)}, got {str(error.get('input'))[:80]!r}") from None


def default(field: str) -> Any:
    """A setting's default value (its constant for code that documents or tests it)."""
    return Settings.model_fields[field].default


def _kind(annotation: Any) -> str:
    """A field's type in words, for the table."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if args and get_origin(annotation) is not Literal and len(args) == 1:
        return _kind(args[0])
    if args and get_origin(args[0]) is Literal:
        return _kind(args[0])
    if get_origin(annotation) is Annotated:
        return _kind(args[0])
    return {bool: "true/false", int: "whole number", float: "number", str: "text", Path: "path"}.get(
        annotation, str(annotation))


def markdown_table() -> str:
    """The table of variables in ``docs/configuration.md``."""
    lines = ["# Configuration", "",
             "Every setting is an environment variable; a blank one counts as unset. Generated from "
             "`parasearch/settings.py` by `python -m parasearch.settings > docs/configuration.md`.", "",
             "| variable | type | default | what it sets |", "| --- | --- | --- | --- |"]
    for name, info in Settings.model_fields.items():
        kind = _kind(info.annotation)
        value = info.default
        shown = "" if value in (None, "") else f"`{Path(value).relative_to(REPO_ROOT)}`" if isinstance(
            value, Path) else f"`{value}`"
        lines.append(f"| `{env_name(name)}` | {kind} | {shown} | {info.description or ''} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown_table())
