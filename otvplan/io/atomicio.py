"""Atomic file writes: a reader sees the old file or the complete new one, never a part.

Each write goes to a temporary file in the destination's directory (same file system), is
flushed and fsync'ed, then renamed over the destination with :func:`os.replace`, which is
atomic on POSIX and Windows. On any error the temporary file is removed. The file gets the
permissions a plain ``open(path, "w")`` would give it (``0o666`` less the umask), or keeps
those of the file it replaces.

A *set* of files that belong together (a report: plan.json, CSVs, Markdown, HTML, figures,
exports) is written with :class:`StagedDirectory`: every file goes into a hidden staging
directory first, and only when all of them are written is the set put in place (the staging
directory renamed to the output directory, or atomically exchanged with it), so the output
directory holds the complete new set or the previous one, never a mix.

File-system faults (a full disk, a read-only directory, an output path that is a file or lies
under one, a dangling symbolic link) are raised as :class:`otvplan.errors.OutputError`, an
``OSError`` whose message names the path and says what to do.
"""

from __future__ import annotations

import errno as _errno
import os
import secrets
import shutil
import stat
import tempfile
from pathlib import Path

from otvplan.errors import OutputError

#: What to tell the user for the errno values a write meets.
_HINTS = {
    _errno.ENOSPC: "no space left on the device; free some space or write elsewhere",
    _errno.EDQUOT: "disk quota exceeded; free some space or write elsewhere",
    _errno.EACCES: "permission denied; choose a directory you can write to",
    _errno.EPERM: "operation not permitted; choose a directory you can write to",
    _errno.EROFS: "read-only file system; choose a writable directory",
    _errno.ENOTDIR: "a part of the path is a file, not a directory",
    _errno.EISDIR: "is a directory, not a file",
    _errno.EEXIST: "exists and is not a directory",
    _errno.ENAMETOOLONG: "the name is too long for the file system",
    _errno.ELOOP: "too many levels of symbolic links",
    _errno.EIO: "input/output error from the device",
    _errno.EFBIG: "the file is too large for the file system",
    _errno.EMLINK: "too many entries in the directory",
}

#: errno values that mean "the file system refused", as opposed to a bug in otvplan.
FILESYSTEM_ERRNOS = frozenset(_HINTS) | {_errno.ENOENT, _errno.EXDEV, _errno.EBUSY, _errno.ETXTBSY}


def reason(exc: OSError) -> str:
    """A one-line reason for an ``OSError`` met while writing (no path in it)."""
    hint = _HINTS.get(exc.errno or 0)
    if hint:
        return hint
    text = exc.strerror or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]


def output_error(exc: OSError, path, action: str = "cannot write") -> OutputError:
    """``exc`` as an :class:`OutputError` on ``path``: ``path: cannot write: reason``."""
    if isinstance(exc, OutputError):
        return exc
    return OutputError(path, f"{action}: {reason(exc)}", exc.errno)


def ensure_dir(path: str | os.PathLike) -> Path:
    """Create the directory ``path`` (and its parents) unless it exists; return it.

    Raises :class:`OutputError` with a message that says what is in the way: a file, a dangling
    symbolic link, a file higher up the path, a read-only or unwritable parent.
    """
    path = Path(path)
    if path.is_dir():
        return path
    if path.is_symlink() and not path.exists():
        raise OutputError(
            path,
            f"is a dangling symbolic link (to {os.readlink(path)}); "
            "remove it or point it at a directory",
            _errno.EEXIST,
        )
    if path.exists():
        raise OutputError(
            path, "exists and is not a directory; give a directory path", _errno.EEXIST
        )
    check_parents(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(exc, path, "cannot create the directory") from None
    return path


def check_parents(path: Path) -> None:
    """Raise :class:`OutputError` when the nearest existing ancestor of ``path`` is a file or a
    dangling symbolic link (so ``path`` cannot be created)."""
    for parent in path.parents:
        if parent.exists() or parent.is_symlink():
            if parent.is_symlink() and not parent.exists():
                raise OutputError(
                    path, f"cannot create it: {parent} is a dangling symbolic link", _errno.ENOENT
                )
            if not parent.is_dir():
                raise OutputError(
                    path, f"cannot create it: {parent} is a file, not a directory", _errno.ENOTDIR
                )
            return


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except (FileNotFoundError, NotADirectoryError):
        umask = os.umask(0o022)  # read the umask (os has no getter) and put it back
        os.umask(umask)
        return 0o666 & ~umask


def _unlink_quietly(path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return the path.

    An ``OSError`` of the file system becomes an :class:`OutputError` naming ``path``.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(path, "is a directory, not a file", _errno.EISDIR)
    mode = _mode_for(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise output_error(exc, path) from None
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)  # mkstemp creates 0o600
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        _unlink_quietly(tmp)
        raise output_error(exc, path) from None
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` as UTF-8 with ``\\n`` line ends to ``path`` atomically; return the path."""
    return write_bytes(path, text.encode("utf-8"))


# --------------------------------------------------------------------------------------------
# A set of files, all or nothing
# --------------------------------------------------------------------------------------------


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange the paths ``a`` and ``b`` (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns False where the call is not available (another OS, an old C library, a file system
    that does not support it); raises ``OSError`` for any other failure.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        func = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    func.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    if func(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (_errno.ENOSYS, _errno.EINVAL, _errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _is_temp_name(name: str) -> bool:
    return name.startswith(".") and name.endswith(".tmp")


class StagedDirectory:
    """Write a set of files into ``out`` so that ``out`` holds the whole new set or the old one.

    Use as a context manager::

        with StagedDirectory(out, managed=("plan.json", "report.md", ...)) as stage:
            stage.write_text("plan.json", text)
            ...

    Files are written into a hidden staging directory (``.<out name>.<random>.tmp``) next to
    ``out``. When the block ends without an exception the set is put in place:

    - ``out`` does not exist: the staging directory is renamed to ``out`` (atomic);
    - ``out`` holds only files of the ``managed`` names (an earlier run's output) and hidden
      temporary files: the two directories are exchanged atomically (Linux
      ``renameat2(RENAME_EXCHANGE)``; elsewhere ``out`` is moved aside and the new one moved
      in), and the old one is deleted;
    - ``out`` holds other files too (the user's own), or is a symbolic link: each new file is
      renamed into ``out`` in turn, then the ``managed`` files of the old set that the new one
      lacks are removed. Other files are never touched.

    When the block raises, the staging directory is deleted and ``out`` is left as it was.
    File-system faults are raised as :class:`OutputError`.
    """

    def __init__(self, out: str | os.PathLike, managed=()):
        self.shown = Path(out)  # as the caller named it: in messages and returned paths
        self.out = Path(os.path.abspath(out))  # "." has a name and a parent
        if callable(managed):
            self.is_managed = managed
        else:
            names = frozenset(managed)
            self.is_managed = names.__contains__
        self.stage: Path | None = None
        self.names: list[str] = []

    # -- set-up ---------------------------------------------------------------------------------

    def _own_files_only(self) -> bool:
        """``out`` is a real directory holding only managed files and hidden temporaries, and
        not the working directory or one above it (which must not be swapped away)."""
        if self.out.is_symlink() or not self.out.is_dir():
            return False
        try:
            cwd = Path(os.path.realpath(os.getcwd()))
            if (
                cwd == Path(os.path.realpath(self.out))
                or Path(os.path.realpath(self.out)) in cwd.parents
            ):
                return False
        except OSError:
            return False
        try:
            entries = list(os.scandir(self.out))
        except OSError:
            return False
        return all(
            e.is_file(follow_symlinks=False) and (self.is_managed(e.name) or _is_temp_name(e.name))
            for e in entries
        )

    def __enter__(self) -> StagedDirectory:
        out, shown = self.out, self.shown
        if out.is_symlink() and not out.exists():
            raise OutputError(
                shown,
                f"is a dangling symbolic link (to {os.readlink(out)}); "
                "remove it or point it at a directory",
                _errno.EEXIST,
            )
        if out.exists() and not out.is_dir():
            raise OutputError(
                shown, "exists and is not a directory; give a directory path", _errno.EEXIST
            )
        check_parents(shown)
        ensure_dir(out.parent)
        sibling = out.parent / f".{out.name or 'out'}.{secrets.token_hex(4)}.tmp"
        try:
            if out.is_symlink():  # its target may be on another file system: stage inside it
                raise PermissionError(_errno.EXDEV, "symbolic link")
            sibling.mkdir()
            self.stage = sibling
        except OSError as exc:
            if not out.is_dir():
                raise output_error(exc, shown, "cannot create the directory") from None
            # the parent is not writable but the output directory is: stage inside it
            inside = out / f".otvplan-stage.{secrets.token_hex(4)}.tmp"
            try:
                inside.mkdir()
            except OSError as exc2:
                raise output_error(exc2, shown) from None
            self.stage = inside
        return self

    # -- writing --------------------------------------------------------------------------------

    def path(self, name: str) -> Path:
        """Where ``name`` ends up (in ``out``)."""
        return self.shown / name

    def write_bytes(self, name: str, data: bytes) -> Path:
        """Stage the file ``name`` with ``data``; return its final path in ``out``."""
        assert self.stage is not None, "use StagedDirectory as a context manager"
        target = self.stage / name
        mode = _mode_for(self.out / name)
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            if hasattr(os, "fchmod"):
                os.fchmod(fd, mode)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise output_error(exc, self.shown / name) from None
        if name not in self.names:
            self.names.append(name)
        return self.shown / name

    def write_text(self, name: str, text: str) -> Path:
        """Stage ``name`` with ``text`` as UTF-8; return its final path in ``out``."""
        return self.write_bytes(name, text.encode("utf-8"))

    # -- putting the set in place ---------------------------------------------------------------

    def _discard(self) -> None:
        if self.stage is not None:
            shutil.rmtree(self.stage, ignore_errors=True)
            self.stage = None

    def _commit(self) -> None:
        stage, out = self.stage, self.out
        assert stage is not None
        if stage.parent == out.parent and not out.exists() and not out.is_symlink():
            os.chmod(stage, 0o777 & ~_umask())
            os.rename(stage, out)
            _fsync_dir(out.parent)
            self.stage = None
            return
        if stage.parent == out.parent and self._own_files_only():
            os.chmod(stage, stat.S_IMODE(out.stat().st_mode))
            if _exchange(stage, out):
                _fsync_dir(out.parent)
                shutil.rmtree(stage, ignore_errors=True)  # the old set, now at stage's path
                self.stage = None
                return
            aside = out.parent / f".{out.name}.{secrets.token_hex(4)}.old.tmp"
            os.rename(out, aside)
            os.rename(stage, out)
            _fsync_dir(out.parent)
            shutil.rmtree(aside, ignore_errors=True)
            self.stage = None
            return
        # out holds other files: move the new ones in one by one, then drop stale managed ones
        for name in self.names:
            os.replace(stage / name, out / name)
        new = set(self.names)
        for entry in list(os.scandir(out)):
            if (
                entry.name not in new
                and self.is_managed(entry.name)
                and entry.is_file(follow_symlinks=False)
            ):
                _unlink_quietly(entry.path)
        _fsync_dir(out)
        self._discard()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._discard()
            return
        try:
            self._commit()
        except OSError as error:
            self._discard()
            raise output_error(error, self.shown) from None


def _umask() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return umask
