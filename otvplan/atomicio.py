"""Atomic file writes: a reader sees the old file or the complete new one, never a part.

Each write goes to a temporary file in the destination's directory (same file system), is
flushed and fsync'ed, then renamed over the destination with :func:`os.replace`, which is
atomic on POSIX and Windows. On any error the temporary file is removed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return the path."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` as UTF-8 with ``\\n`` line ends to ``path`` atomically; return the path."""
    return write_bytes(path, text.encode("utf-8"))
