"""Atomic outputs: every file or directory is written under a temporary name beside its
destination and renamed into place, so a path always holds the old or the new complete output.

* Files: :func:`atomic_path` yields a temporary file; ``os.replace`` puts it in place.
* Directories (index directories): the new directory is built beside the old one and the two
  are exchanged in one ``renameat2(RENAME_EXCHANGE)`` call (Linux 3.15+, glibc 2.28+), so the
  path never stops naming a complete directory; where the exchange is not available the old
  directory is renamed aside first, which leaves an instant with no directory at the path
  (``docs/decisions/atomic-index-swap.md``).
* Temporary names carry the host and process id (``.NAME.HOST-PID.RANDOM.tmp``): a later write
  into the same directory removes those of processes that are gone (killed runs), never
  anything else.
"""
import contextlib
import ctypes
import errno
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

from graphembed._limits import human_bytes
from graphembed.io.errors import InputError

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_TEMP_SUFFIX = ".tmp"


def umask() -> int:
    """The process umask (read without changing it for longer than the call)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _host():
    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname())[:32] or "host"


def _temp_prefix(name):
    return f".{name}.{_host()}-{os.getpid()}."


def _stale_owner(entry, name):
    """The pid of a temp entry of ``name`` written on this host, or None if it is not ours."""
    m = re.fullmatch(re.escape(f".{name}.{_host()}-") + r"(\d+)\.[^/]+" + re.escape(_TEMP_SUFFIX), entry)
    return int(m.group(1)) if m else None


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(path):
    """Remove the temporary files and directories that killed runs left for ``path``.

    Only entries named like this module's own temporaries for ``path``, written on this host by a
    process that no longer exists, are removed. Returns the number removed.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    removed = 0
    try:
        entries = os.listdir(parent)
    except OSError:
        return 0
    for entry in entries:
        pid = _stale_owner(entry, path.name)
        if pid is None or pid == os.getpid() or _alive(pid):
            continue
        target = parent / entry
        try:
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink()
            removed += 1
        except OSError:
            pass
    return removed


def check_writable(path, directory=False):
    """Raise :class:`InputError` unless ``path`` can be written (before any work is done).

    The parent must exist and be a writable directory; a file output must not be an existing
    directory, a directory output must not be an existing file.
    """
    path = Path(path)
    if str(path) in ("", ".", "..") or path.name in ("", ".", ".."):
        raise InputError(f"{path}: not a valid output path (name a file or directory inside it)")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise InputError(f"{path}: directory {parent} does not exist")
    if not parent.is_dir():
        raise InputError(f"{path}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{path}: directory {parent} is not writable")
    if directory and path.exists() and not path.is_dir():
        raise InputError(f"{path}: exists and is not a directory")
    if directory and path.is_dir():
        here, target = Path.cwd().resolve(), path.resolve()
        if target == here or target in here.parents:
            raise InputError(f"{path}: is the working directory or one of its parents; "
                             "name a new directory for the output")
    if not directory and path.is_dir():
        raise InputError(f"{path}: is a directory; name an output file")


def check_free_space(path, nbytes, what=None):
    """Raise :class:`InputError` when the file system of ``path`` has less than ``nbytes`` free;
    ``what`` names the data when ``path`` is not the user's (a temporary file)."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    try:
        free = shutil.disk_usage(parent).free
    except OSError:
        return
    if nbytes > free:
        subject = what or str(path)
        raise InputError(f"{subject}: needs about {human_bytes(nbytes)} but {parent} has "
                         f"{human_bytes(free)} free")


@contextlib.contextmanager
def atomic_path(path, directory=False, replace_dir=None):
    """Yield a temporary path next to ``path``; put it at ``path`` only if the block succeeds.

    With ``directory=True`` the temporary path is a fresh directory and an existing directory at
    ``path`` is exchanged atomically with it; ``replace_dir(path)`` is called first and must raise
    when the existing directory may not be replaced (it is not an output of the same kind).
    Stale temporaries of killed runs for ``path`` are removed before writing.
    """
    path = Path(path)
    check_writable(path, directory)
    parent = path.parent if str(path.parent) else Path(".")
    remove_stale_temps(path)
    if directory:
        if path.exists() and replace_dir is not None:
            replace_dir(path)
        tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(path.name), suffix=_TEMP_SUFFIX, dir=parent))
        os.chmod(tmp, 0o777 & ~umask())  # mkdtemp makes it private; an output is ordinary
    else:
        fd, name = tempfile.mkstemp(prefix=_temp_prefix(path.name), suffix=_TEMP_SUFFIX, dir=parent)
        os.close(fd)
        tmp = Path(name)
        os.chmod(tmp, 0o666 & ~umask())
    try:
        yield tmp
        if directory:
            _swap_directory(tmp, path)
        else:
            os.replace(tmp, path)
    except BaseException as exc:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):  # a full or read-only disk, an I/O error: name the output
            raise InputError(f"{path}: cannot write ({os_problem(exc)}); nothing was changed") from None
        raise


def os_problem(exc):
    """The system's words for an OSError (pyarrow's carry the errno only in their message)."""
    code = exc.errno
    if code is None:
        m = re.search(r"errno (\d+)", str(exc))
        code = int(m.group(1)) if m else None
    return os.strerror(code) if code else " ".join(str(exc).split())[:200]


def _swap_directory(new, path):
    """Put the directory ``new`` at ``path``; the directory that was there is removed."""
    if not path.exists():
        os.rename(new, path)
        return
    if exchange(new, path):
        shutil.rmtree(new, ignore_errors=True)  # ``new`` now holds the old directory
        return
    old = Path(tempfile.mkdtemp(prefix=_temp_prefix(path.name), suffix=_TEMP_SUFFIX, dir=path.parent))
    os.rmdir(old)
    os.rename(path, old)
    try:
        os.rename(new, path)
    except BaseException:
        os.rename(old, path)
        raise
    shutil.rmtree(old, ignore_errors=True)


def exchange(a, b) -> bool:
    """Swap the paths ``a`` and ``b`` atomically (``renameat2(RENAME_EXCHANGE)``).

    Returns False where the system or file system has no atomic exchange; raises OSError for
    any other failure.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))
