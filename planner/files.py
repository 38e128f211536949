"""Small file-system helpers for writing outputs whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_whole(path: Path, text: str) -> None:
    """Write a text file whole or not at all: a temporary name beside it, then renamed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def as_if_created_normally(path: Path) -> None:
    """Give a temporary file or folder (created private by tempfile) the permissions an
    ordinary open() or mkdir() would have given it, before it is moved into place."""
    mode = 0o777 if Path(path).is_dir() else 0o666
    os.chmod(path, mode & ~_umask())
