"""The output directory: one build at a time, staged beside it, nothing left behind on failure.

A build locks ``--out`` itself (``flock`` on the directory, so there is no lock file to leave
behind; a second build into the same directory waits for the first), stages every file in a
directory *beside* it (``.<name>.mvpy-staging-*``, on the same file system, so that moving the
files in is a rename), and removes the staging directory on every exit path Python sees. A
staging directory left by a process that was killed outright (SIGKILL, power loss) is removed
by the next build into the same directory, under the lock.

A build that is verified before it is published (``build --verify``) verifies the staging
directory itself; only if verification passes are its files moved in. When it fails, or is
interrupted (Ctrl-C, SIGTERM), ``--out`` is left as it was and the staging directory is kept,
renamed ``<name>.unverified`` beside ``--out`` (:func:`unverified_dir`; a previous one is
replaced), for the user to look at or to ``mvpy-vendor verify`` again. A successful publish
removes a stale one.

On Windows a directory cannot be opened to lock it: the lock is ``msvcrt.locking`` on a lock
file *beside* ``--out`` (``.<name>.mvpy-lock``, in the directory the staging goes to), so that
``--out`` holds nothing but the build's files. That file stays (removing a lock file races with
a build about to lock it). This path is not run by this project's tests or CI (Linux only).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import BuildError

__all__ = ["keep_unverified", "locked_out_dir", "move_into", "os_error", "publish_file", "unverified_dir"]


def os_error(exc: OSError, what: str = "") -> BuildError:
    """One line for an OSError: the file it is about and the system's reason."""
    reason = exc.strerror or str(exc)
    if exc.filename is not None:
        return BuildError(f"{exc.filename}: {reason}")
    return BuildError(f"{what}: cannot write: {reason}" if what else reason)


def _staging_prefix(out_dir: Path) -> str:
    return f".{out_dir.name}.mvpy-staging-"


def _lock_name(out_dir: Path) -> Path:
    return out_dir.parent / f".{out_dir.name}.mvpy-lock"


if sys.platform == "win32":  # pragma: no cover - not run on this project's CI
    import msvcrt

    def _lock(out_dir: Path) -> int:
        """A descriptor of the lock file beside ``out_dir``, its first byte locked; waits as long as needed."""
        fd = os.open(_lock_name(out_dir), os.O_RDWR | os.O_CREAT, 0o666)
        try:
            while True:
                try:
                    msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # tries for about 10 seconds, then raises
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EDEADLOCK, errno.EACCES):
                        raise
            # The build we waited for may have removed the directory (it failed and had made it).
            out_dir.mkdir(parents=True, exist_ok=True)
        except BaseException:
            _unlock(fd)
            raise
        return fd

    def _unlock(fd: int) -> None:
        """Unlock before closing: Windows releases the locks of a closed file only eventually."""
        with contextlib.suppress(OSError):
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        os.close(fd)

else:
    import fcntl

    def _lock(out_dir: Path) -> int:
        """A descriptor of ``out_dir`` holding an exclusive ``flock`` on it; waits as long as needed."""
        while True:
            fd = os.open(out_dir, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                # The build we waited for may have removed the directory (it failed and had made it).
                try:
                    same = os.path.samestat(os.fstat(fd), os.stat(out_dir))
                except FileNotFoundError:
                    same = False
            except BaseException:
                os.close(fd)
                raise
            if same:
                return fd
            os.close(fd)
            out_dir.mkdir(parents=True, exist_ok=True)

    def _unlock(fd: int) -> None:
        os.close(fd)  # releases the flock


@contextlib.contextmanager
def locked_out_dir(out_dir: Path) -> Iterator[Path]:
    """Lock ``out_dir`` (made if missing) and yield a new staging directory beside it.

    On exit the staging directory is removed, and so is ``out_dir`` if this made it and it is
    still empty. Errors of the file system (a file where the directory should be, no permission,
    no space) become one-line :class:`BuildError`.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise BuildError(f"{out_dir}: exists and is not a directory")
    created = not out_dir.exists()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd = _lock(out_dir)
    except OSError as exc:
        raise os_error(exc, str(out_dir)) from None
    staging: Path | None = None
    try:
        prefix = _staging_prefix(out_dir)
        for stale in out_dir.parent.glob(prefix + "*"):  # left by a killed build: we hold the lock
            shutil.rmtree(stale, ignore_errors=True)
        try:
            staging = Path(tempfile.mkdtemp(prefix=prefix, dir=out_dir.parent))
        except OSError as exc:
            raise os_error(exc, str(out_dir.parent)) from None
        yield staging
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if created:
            with contextlib.suppress(OSError):
                out_dir.rmdir()  # only if still empty
        _unlock(fd)


def move_into(staging: Path, out_dir: Path) -> None:
    """Move every file of ``staging`` into ``out_dir`` (a rename each, replacing what is there)."""
    for item in sorted(staging.iterdir()):
        target = out_dir / item.name
        try:
            item.replace(target)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise os_error(exc, str(target)) from None
            # ``out_dir`` is a mount point: copy beside the target, then rename over it.
            part = out_dir / f".{item.name}.mvpy-part"
            try:
                shutil.copyfile(item, part)
                part.replace(target)
            except OSError as exc2:
                part.unlink(missing_ok=True)
                raise os_error(exc2, str(target)) from None


def unverified_dir(out_dir: Path) -> Path:
    """Where a wheelhouse that was not verified is kept: ``<name>.unverified`` beside ``out_dir``."""
    return out_dir.parent / f"{out_dir.name}.unverified"


def keep_unverified(staging: Path, out_dir: Path) -> Path:
    """Keep the staged wheelhouse as :func:`unverified_dir` (replacing a previous one); its path.

    A rename on the same file system: whatever interrupted the build, the staged files are
    either all there or still in the staging directory, never half moved.
    """
    target = unverified_dir(out_dir)
    try:
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        staging.rename(target)
    except OSError as exc:
        raise os_error(exc, str(target)) from None
    return target


def publish_file(src: Path, dest: Path) -> None:
    """Put the finished file ``src`` at ``dest`` whole or not at all: copied beside ``dest`` under a
    hidden name, then renamed over it (the build backend's wheel, made in a temporary directory
    that may be on another file system). An interrupted copy leaves no partial ``dest``."""
    part = dest.parent / f".{dest.name}.mvpy-part"
    try:
        shutil.copyfile(src, part)
        part.replace(dest)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
