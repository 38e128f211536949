"""Small file-system helpers for writing outputs whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def as_if_created_normally(path: Path) -> None:
    """Give a temporary file or folder (created private by tempfile) the permissions an
    ordinary open() or mkdir() would have given it, before it is moved into place."""
    mode = 0o777 if Path(path).is_dir() else 0o666
    os.chmod(path, mode & ~_umask())
