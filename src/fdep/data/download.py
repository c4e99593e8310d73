"""Download a public dataset release and prepare it (see :mod:`fdep.data.prepare`).

The archive is streamed to a temporary file beside the destination while its
SHA-256 is computed; a short read (fewer bytes than the server announced), a
web page instead of an archive (browser-only drive links) or a ``--sha256``
mismatch raise DataError, and the temporary file is always removed.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from ..errors import DataError
from ..fileio import owner_tag
from ..progress import Counter
from .prepare import MAX_UNPACKED_GB, Log, _already, check_sha256, prepare, remove_orphans
from .registry import get_known

TIMEOUT_S = 60


def fetch(url: str, out: Path, progress: bool = True) -> str:
    """Stream ``url`` into ``out``; return the SHA-256 of the bytes received."""
    req = urllib.request.Request(url, headers={"User-Agent": "fdep-data/1"})
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as r, open(out, "wb") as f:
            ctype = r.headers.get("Content-Type", "")
            if ctype.startswith("text/html"):
                raise DataError(
                    f"{url}: the server returned a web page, not an archive (the link probably needs a browser); "
                    "download the file by hand and use `fdep data prepare`"
                )
            total = r.headers.get("Content-Length")
            total = int(total) if total and total.isdigit() else None
            got = 0
            with Counter("fdep data: download", total=total, unit="B", enabled=progress) as bar:
                while True:
                    block = r.read(1 << 20)
                    if not block:
                        break
                    f.write(block)
                    h.update(block)
                    got += len(block)
                    bar.update(len(block))
    except urllib.error.HTTPError as e:
        raise DataError(f"{url}: download failed (HTTP {e.code} {e.reason})") from None
    except urllib.error.URLError as e:
        raise DataError(f"{url}: download failed ({e.reason})") from None
    except (TimeoutError, ConnectionError) as e:
        raise DataError(f"{url}: download failed ({e.__class__.__name__}: {e})") from None
    except http.client.IncompleteRead as e:
        raise DataError(f"{url}: download truncated after {len(e.partial)} bytes") from None
    if total is not None and got != total:
        raise DataError(f"{url}: download truncated: received {got} of {total} bytes")
    return h.hexdigest()


def download(
    name: str,
    root: str | os.PathLike,
    sha256: str | None = None,
    url: str | None = None,
    progress: bool = True,
    log: Log = print,
    max_unpacked_gb: float = MAX_UNPACKED_GB,
) -> Path:
    """Download dataset ``name`` (from ``url`` or its official location) and prepare it under ``root``."""
    known = get_known(name)
    if known.components:
        raise DataError(
            f"{known.name} is the union of {', '.join(known.components)}: download or prepare each into the "
            f"same --root, then use ROOT/{known.name}"
        )
    root = Path(root).expanduser()
    dest = root / known.name
    if _already(dest, sha256):
        log(f"{dest}: already present; nothing to do")
        return dest
    url = url or known.url
    if url is None:
        raise DataError(
            f"{known.name} is published only through a browser link ({known.page}); download it there and run "
            f"`fdep data prepare {known.name} --from FILE --root {root}`"
        )
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    remove_orphans(root, known.name, log)
    fd, tmp = tempfile.mkstemp(prefix=f".{known.name}.{owner_tag()}.", suffix=".download", dir=root)
    os.close(fd)
    tmp = Path(tmp)
    try:
        log(f"downloading {known.name} from {url}")
        digest = fetch(url, tmp, progress)
        check_sha256(digest, sha256, url)
        return prepare(known.name, tmp, root, sha256=sha256, progress=progress, log=log, origin=url, _digest=digest,
                       max_unpacked_gb=max_unpacked_gb)
    except BaseException:
        tmp.unlink(missing_ok=True)
        if created and not any(root.iterdir()):
            root.rmdir()  # leave no trace of a failed first download
        raise
    finally:
        tmp.unlink(missing_ok=True)
