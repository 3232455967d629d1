"""Writing files and folders all at once, without ever removing what gan-zoo did not create.

``replace_file(dest)`` is the one way gan-zoo writes a single file (images, latents, pins, cached
directions): into a hidden temporary sibling, then renamed over ``dest`` with the permissions a
plain ``open(dest, "w")`` would give (an existing file's own, else 0666 less the umask).

``replace_folder(target, owned)`` is the one way gan-zoo writes a converted folder (a
conversion, an import, a Hub copy). The content is written into a hidden sibling
``.<name>.zoo-tmp-<pid>-<random>`` and renamed into place only when complete, so a reader sees
the old folder or the new one, never half of one. The target may be:

* missing, or an empty folder: the new folder takes its place;
* a folder that ``owned`` accepts (a gan-zoo converted folder holding only gan-zoo's files):
  it is swapped out atomically and removed only after the new one is in place;
* anything else (a file, a folder with other content, the current folder or one above it):
  refused with a ``ZooError`` before anything is written.

Folders are created with ``os.mkdir`` so they get the usual permissions (0777 minus the
umask), not the 0700 of ``tempfile.mkdtemp``. Temporary folders left by a process that was
killed are removed the next time a folder is written beside them.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Callable, Iterator

from .errors import ZooError

_LEFTOVER = re.compile(r"\.(?P<name>.+)\.zoo-(?P<kind>tmp|old)-(?P<pid>\d+)-[0-9a-f]+")


def current_umask() -> int:
    """The process umask, read without changing it where Linux tells it (``/proc/self/status``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (briefly process-wide)
    os.umask(mask)
    return mask


def usual_mode(dest: Path) -> int:
    """The permission bits ``open(dest, "w")`` gives: an existing file's own, else 0o666 less the umask."""
    try:
        return os.stat(dest).st_mode & 0o7777
    except OSError:
        return 0o666 & ~current_umask()


def give_new_file_mode(path: Path) -> None:
    """chmod a file another library wrote (0600, through its own temporary file) to a new file's mode."""
    os.chmod(path, 0o666 & ~current_umask())


@contextlib.contextmanager
def replace_file(dest: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success it replaces ``dest`` (usual permissions), on
    failure it is removed and ``dest`` is untouched. OS errors become one-line ``ZooError`` s."""
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ZooError(f"cannot write {dest} ({exc.strerror or exc})") from None
    tmp = dest.with_name(f".{dest.stem}.zoo-tmp-{os.getpid()}-{secrets.token_hex(4)}{dest.suffix}")
    try:
        yield tmp
        os.chmod(tmp, usual_mode(dest))
        os.replace(tmp, dest)
    except OSError as exc:
        raise ZooError(f"cannot write {dest.name} ({exc.strerror or ' '.join(str(exc).split())})") from None
    finally:
        tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_leftovers(parent: Path) -> list[Path]:
    """Remove temporary folders of dead processes in ``parent`` (an interrupted swap is undone)."""
    removed: list[Path] = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        found = _LEFTOVER.fullmatch(entry.name)
        if not found or not entry.is_dir() or entry.is_symlink() or _alive(int(found["pid"])):
            continue
        target = parent / found["name"]
        if found["kind"] == "old" and not target.exists():
            with contextlib.suppress(OSError):
                os.rename(entry, target)  # the swap died between its two renames: put the old folder back
                continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def _sibling(target: Path, kind: str) -> Path:
    return target.parent / f".{target.name}.zoo-{kind}-{os.getpid()}-{secrets.token_hex(4)}"


def check_target(target: Path, owned: Callable[[Path], bool]) -> None:
    """Raise ``ZooError`` unless ``target`` may be (re)placed by a new folder."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise ZooError(f"{target} exists and is not a folder; nothing was written (give a new or empty folder)")
    resolved = target.resolve()
    cwd = Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        raise ZooError(f"{target} is the current folder or contains it; nothing was written (give a new or empty folder)")
    if target.is_dir() and any(target.iterdir()) and not owned(target):
        raise ZooError(
            f"{target} is not empty and is not a gan-zoo converted folder; nothing was written "
            "(give a new or empty folder; gan-zoo never removes files it did not write)"
        )


@contextlib.contextmanager
def replace_folder(target: Path, owned: Callable[[Path], bool]) -> Iterator[Path]:
    """Yield an empty temporary folder; on success it becomes ``target`` (see the module doc)."""
    target = Path(target)
    check_target(target, owned)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ZooError(f"cannot create {target.parent} ({exc.strerror or exc})") from None
    clean_leftovers(target.parent)
    tmp = _sibling(target, "tmp")
    try:
        os.mkdir(tmp)
    except OSError as exc:
        raise ZooError(f"cannot write in {target.parent} ({exc.strerror or exc})") from None
    try:
        yield tmp
        check_target(target, owned)  # it may have changed while the content was written
        _swap_in(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _swap_in(tmp: Path, target: Path) -> None:
    if not target.exists():
        os.rename(tmp, target)
        return
    if not any(target.iterdir()):
        target.rmdir()
        os.rename(tmp, target)
        return
    old = _sibling(target, "old")
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    except OSError:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
