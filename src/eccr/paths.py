"""Local paths versus Hugging Face Hub ids: a path that does not exist never falls through to the Hub.

Options that name a tokenizer or a model take a hub id (``org/name``) *or* a local path. transformers tries
the Hub for anything that is not an existing directory — offline that is many seconds of retries before a
confusing error. :func:`local_or_hub_id` decides first: an existing path is local; a value that can only be
a path (absolute, ``./`` ``../`` ``~``, a backslash, more than one ``/``, a trailing ``/``, a file suffix such
as ``.json``, or a first folder that exists here) but does not exist is ``E086`` at once; anything else is a
hub id.

>>> local_or_hub_id("cl-tohoku/bert-base-japanese", "tokenizer")
'cl-tohoku/bert-base-japanese'
>>> local_or_hub_id("./no/such/tokenizer", "tokenizer")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
eccr.errors.ConfigError: [E086] tokenizer ./no/such/tokenizer does not exist; it names a local path, ...
"""

from __future__ import annotations

from pathlib import Path

from eccr.errors import ConfigError, Location

_PATH_SUFFIXES = frozenset({".json", ".model", ".txt", ".safetensors", ".yaml", ".yml"})


def looks_like_path(value: str) -> bool:
    """Whether ``value`` can only be a local path (see the module docstring), whether or not it exists."""
    first = value.split("/", 1)[0]
    return (
        Path(value).expanduser().is_absolute()
        or value.startswith((".", "~"))
        or "\\" in value
        or value.count("/") > 1
        or value.endswith("/")
        or Path(value).suffix.lower() in _PATH_SUFFIXES
        or ("/" in value and bool(first) and Path(first).is_dir())
    )


def local_or_hub_id(value: str | Path, what: str) -> str:
    """``value`` as given when it is an existing path or a hub id; ``E086`` for a local path that is missing.

    Args:
        value: a hub id or a local path.
        what: what it names (``"tokenizer"``, ``"model"``), for the message.
    """
    text = str(value)
    if Path(text).expanduser().exists():
        return text
    if isinstance(value, Path) or looks_like_path(text):
        raise ConfigError(
            "E086", f"{what} {text} does not exist; it names a local path, which eccr never looks up on the "
            "Hugging Face Hub", Location(file=text))
    return text
