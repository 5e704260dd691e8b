"""The model-directory manifest: what a saved model consists of, checked before anything loads it.

A model directory is data that eccr hands to native code (crfsuite) and to torch/transformers. A damaged
file must give a coded error naming it, not a segmentation fault, and a directory must not be able to run
code on the machine that loads it. So:

* **At save** (:func:`build_manifest`) every file under the directory, recursively, is recorded in
  ``eccr-model.json`` under ``"manifest"`` with its size in bytes and its SHA-256, together with the eccr
  version and the model kind that wrote it. The record itself is written last.
* **At load** (:func:`verify_model_directory`), before the model class is even created:

  - a file in a format that can execute code on loading is refused (``E069``): **pickles** (``.pkl``,
    ``.pickle``, ``.joblib``, ``.dill`` and the torch pickles ``.bin``, ``.pt``, ``.pth``, ``.ckpt``) always —
    eccr writes weights as safetensors and never loads a pickle — and **code** (``.py``, compiled Python,
    native libraries) unless the user asked for the model's own code (``trust_remote_code``);
  - a JSON file with an ``auto_map`` (transformers' pointer to custom model or tokenizer code) is refused
    unless the user asked for it (``E069``), saying so;
  - every recorded file must be there with its recorded size and hash, and no other file may have been
    added (``E068``, naming the file and what is wrong: missing, truncated, changed, added);
  - symbolic links and other non-regular files are refused (``E068``): eccr never writes them.

The rule is a deny-list of formats that execute code, not an allow-list of formats eccr knows, so model
kinds with their own files (ONNX graphs, LoRA adapters in safetensors + JSON, spaCy pipeline folders with
``config.cfg`` and msgpack binaries) need nothing registered here. Options that can execute code
(``trust_remote_code``) come only from the user (``load_model(dir, trust_remote_code=True)``, the
``--trust-remote-code`` flag), never from the directory: see :func:`eccr.models.base.load_model`.

The top-level ``checkpoints/`` folder is training state (HF Trainer checkpoints kept with
``keep_checkpoints``, which include pickled optimizer state): it is not part of the model, not recorded and
never read by :func:`~eccr.models.base.load_model`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from eccr.errors import Location, ModelError

MODEL_FILE = "eccr-model.json"
MANIFEST_KEY = "manifest"
MANIFEST_FORMAT = "eccr-manifest/1"
#: Top-level folders of a model directory that are training state, not model: neither recorded nor read.
TRAINING_STATE_DIRS: frozenset[str] = frozenset({"checkpoints"})

#: Pickle formats (loading one runs arbitrary code): always refused.
PICKLE_SUFFIXES: frozenset[str] = frozenset(
    {".pkl", ".pickle", ".joblib", ".dill", ".bin", ".pt", ".pth", ".ckpt"}
)
#: Code formats: refused unless the user asked for the model's own code (``trust_remote_code``).
CODE_SUFFIXES: frozenset[str] = frozenset(
    {".py", ".pyc", ".pyo", ".pyw", ".pyx", ".pyd", ".so", ".dll", ".dylib"}
)


def _refused_reason(relative: str, trust_remote_code: bool) -> str | None:
    suffix = Path(relative).suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        return (f"{relative} is a pickle ({suffix}): loading it would run code, and eccr never loads pickles "
                "(eccr saves weights as safetensors); remove it, or re-save the model with eccr train")
    if suffix in CODE_SUFFIXES and not trust_remote_code:
        return (f"{relative} is code ({suffix}); eccr runs no code from a model directory unless you ask "
                "for it (--trust-remote-code, load_model(dir, trust_remote_code=True)) — only if you trust "
                "where the directory came from")
    return None


def model_files(directory: Path) -> Iterator[tuple[str, Path]]:
    """``(relative POSIX path, path)`` of every file of the model, in sorted order.

    The record (``eccr-model.json``) and the training-state folders are left out. A symbolic link or any
    other non-regular entry is ``E068``.
    """
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if relative.parts[0] in TRAINING_STATE_DIRS or relative.as_posix() == MODEL_FILE:
            continue
        if path.is_symlink() or not (path.is_dir() or path.is_file()):
            raise ModelError("E068", f"{relative.as_posix()} is a link or special file; a model directory "
                             "holds only regular files (eccr never writes links)", Location(file=str(path)))
        if path.is_file():
            yield relative.as_posix(), path


def file_digest(path: Path) -> str:
    """The SHA-256 of a file, hex."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def build_manifest(directory: Path, kind: str) -> dict[str, Any]:
    """The manifest of every file now under ``directory`` (see the module docstring).

    Raises:
        ModelError: ``E069`` when the model wrote a file eccr would refuse to load (a pickle or code): the
            mistake shows at save time, not on the user's machine.
    """
    from eccr import __version__

    files: dict[str, dict[str, Any]] = {}
    for relative, path in model_files(directory):
        reason = _refused_reason(relative, trust_remote_code=False)
        if reason is not None and Path(relative).suffix.lower() in PICKLE_SUFFIXES:
            raise ModelError("E069", f"cannot save the model: {reason}", Location(file=str(path)))
        files[relative] = {"size": path.stat().st_size, "sha256": file_digest(path)}
    return {"format": MANIFEST_FORMAT, "eccr_version": __version__, "kind": kind, "files": files}


def verify_model_directory(directory: Path, record: Mapping[str, Any], *, trust_remote_code: bool = False
                           ) -> None:
    """Check ``directory`` against the manifest in its ``record`` before anything loads a file of it.

    Args:
        directory: the model directory.
        record: the parsed ``eccr-model.json``.
        trust_remote_code: the user asked for the model's own code (code files and ``auto_map`` allowed).

    Raises:
        ModelError: ``E069`` for a pickle, a code file or an ``auto_map`` the user did not ask for;
            ``E068`` for a missing manifest and for a file that is missing, truncated, changed, added, or a
            link — each naming the file.
    """
    manifest = record.get(MANIFEST_KEY)
    where = Location(file=str(directory / MODEL_FILE))
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise ModelError("E068", f"{directory} has no file manifest in {MODEL_FILE}, so its files cannot be "
                         "checked before loading; re-save the model with this eccr (eccr train)", where)
    expected: dict[str, Any] = manifest["files"]
    present = dict(model_files(directory))
    for relative, path in present.items():  # code first: nothing about a refused file is trusted
        reason = _refused_reason(relative, trust_remote_code)
        if reason is not None:
            raise ModelError("E069", reason, Location(file=str(path)))
    for relative, path in present.items():
        if relative not in expected:
            raise ModelError("E068", f"{relative} was not part of the model when eccr saved it (added "
                             "afterwards); remove it, or re-save the model", Location(file=str(path)))
    for relative, entry in expected.items():
        _check_file(directory, relative, entry, present.get(relative))
    if not trust_remote_code:
        for relative, path in present.items():
            if relative.endswith(".json"):
                _refuse_auto_map(relative, path)


def _check_file(directory: Path, relative: str, entry: Any, path: Path | None) -> None:
    location = Location(file=str(directory / relative))
    if not isinstance(entry, dict) or not isinstance(entry.get("size"), int) or not isinstance(
            entry.get("sha256"), str):
        raise ModelError("E068", f"the manifest entry of {relative} is malformed; re-save the model",
                         location)
    if path is None:
        raise ModelError("E068", f"{relative} is missing (the model was saved with it); copy the whole "
                         "directory again, or re-save the model", location)
    size = path.stat().st_size
    if size != entry["size"]:
        state = "truncated" if size < entry["size"] else "longer than saved"
        raise ModelError("E068", f"{relative} is {state}: {size} bytes, saved as {entry['size']} bytes; copy "
                         "the directory again, or re-save the model", location)
    if file_digest(path) != entry["sha256"]:
        raise ModelError("E068", f"{relative} has changed since the model was saved (SHA-256 differs); copy "
                         "the directory again, or re-save the model", location)


def _refuse_auto_map(relative: str, path: Path) -> None:
    data = path.read_bytes()
    if b'"auto_map"' not in data:
        return
    try:
        value = json.loads(data)
    except ValueError:
        return  # not JSON after all: whoever reads it reports that
    if isinstance(value, dict) and "auto_map" in value:
        raise ModelError(
            "E069", f"{relative} has an auto_map: the model asks to run its own code, which eccr does only "
            "when you ask for it (--trust-remote-code, load_model(dir, trust_remote_code=True)); a "
            "trust_remote_code setting inside the model directory is ignored", Location(file=str(path)))
