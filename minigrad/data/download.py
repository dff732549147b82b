"""Downloading a file from a list of mirrors, safely.

The bytes go to ``<dest>.part`` and are renamed to ``dest`` only after the
caller's verification (a checksum) passes, so a crash or a bad mirror never
leaves a wrong file under the final name. A leftover ``.part`` from an
interrupted run is resumed with an HTTP Range request; if the resumed file does
not verify (the partial came from another mirror, or was garbage), it is
fetched again from scratch once.
"""

from __future__ import annotations

import contextlib
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

try:  # the progress bar is optional
    from tqdm import tqdm
except ImportError:  # pragma: no cover - tqdm is installed wherever the tests run
    tqdm = None

__all__ = ["DownloadError", "download", "DEFAULT_TIMEOUT"]

DEFAULT_TIMEOUT = 30.0  # seconds without progress (connect or read) before giving up on a mirror
_CHUNK = 1 << 16
_USER_AGENT = "minigrad-data/0.1"


class DownloadError(OSError):
    """No mirror delivered a file that passed verification."""


class _NullBar:
    def update(self, n: int) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


def _progress_bar(total: int | None, initial: int, desc: str, enabled: bool):
    if not enabled or tqdm is None:
        return _NullBar()
    return tqdm(
        total=total,
        initial=initial,
        desc=desc,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        leave=False,
    )


def _fetch(url: str, part: Path, timeout: float, progress: bool, resume: bool) -> bool:
    """Fetch url into part, appending to it when resume is true and the server allows.

    Returns True when the result continues an earlier partial file.
    """
    offset = part.stat().st_size if resume and part.exists() else 0
    headers = {"User-Agent": _USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the partial file is already complete
            return True
        raise
    with response:
        match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
        if not (offset and response.status == 206 and match and int(match.group(1)) == offset):
            offset = 0  # server sent the whole file: start over
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        with (
            open(part, "ab" if offset else "wb") as f,
            _progress_bar(total, offset, part.name.removesuffix(".part"), progress) as bar,
        ):
            while chunk := response.read(_CHUNK):
                f.write(chunk)
                bar.update(len(chunk))
    size = part.stat().st_size
    if total is not None and size != total:
        raise DownloadError(f"truncated download: got {size} of {total} bytes")
    return offset > 0


def _verified(part: Path, verify: Callable[[Path], object] | None) -> None:
    """Run verify on part; on failure delete part and re-raise."""
    if verify is None:
        return
    try:
        verify(part)
    except Exception:
        part.unlink(missing_ok=True)
        raise


def download(
    urls: Sequence[str],
    dest: str | os.PathLike,
    verify: Callable[[Path], object] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    progress: bool = True,
) -> Path:
    """Download one file, trying each URL in turn, into dest.

    ``verify(path)`` must raise (ValueError or OSError) when the downloaded file
    is wrong. Network errors leave ``dest.part`` for a later resume; failed
    verification deletes it. Raises DownloadError listing every URL's failure.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(dest.parent):
        if dest.is_file():  # another process fetched it while this one waited for the lock
            try:
                _verified(dest, verify)
                return dest
            except (OSError, ValueError):
                pass
        return _download_locked(urls, dest, verify, timeout, progress)


@contextlib.contextmanager
def _exclusive(folder: Path):
    """Hold an exclusive lock on folder (POSIX flock on the directory itself: no lock file
    left behind), so two processes or threads never write one .part file."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _download_locked(urls: Sequence[str], dest: Path, verify, timeout: float, progress: bool) -> Path:
    part = dest.with_name(dest.name + ".part")
    failures = []
    for url in urls:
        try:
            resumed = _fetch(url, part, timeout, progress, resume=True)
            try:
                _verified(part, verify)
            except ValueError:
                if not resumed:
                    raise
                _fetch(url, part, timeout, progress, resume=False)
                _verified(part, verify)
            os.replace(part, dest)
            return dest
        except (OSError, ValueError) as exc:  # URLError, HTTPError and timeouts are OSErrors
            failures.append(f"  {url}: {exc}")
    raise DownloadError(f"could not download {dest.name}:\n" + "\n".join(failures))
