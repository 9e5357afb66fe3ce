"""HTTP(S) requests for the fetchers: one-line errors when offline, atomic downloads with a progress bar."""

from __future__ import annotations

import http.client
import json
import logging
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from scconcepts._errors import OfflineError, ScconceptsError
from scconcepts._version import __version__

logger = logging.getLogger(__name__)

TIMEOUT_S = 60
_CHUNK = 1 << 20
_LOCAL_HINT = "pass a local file instead with --input FILE (or scconcepts.ds.read(FILE))"


class NotFoundError(ScconceptsError):
    """The server answered 404 for a URL."""


def _offline(what: str, url: str, reason: object) -> OfflineError:
    host = urllib.parse.urlsplit(url).netloc or url
    text = str(reason).strip().splitlines()[0] if str(reason).strip() else type(reason).__name__
    return OfflineError(f"cannot fetch {what} from {host}: the network is unreachable ({text}); {_LOCAL_HINT}")


def open_url(url: str, *, what: str, method: str = "GET") -> http.client.HTTPResponse:
    """Open ``url``; the caller closes the response.

    Raises
    ------
    NotFoundError
        On HTTP 404.
    OfflineError
        On any connection problem (DNS failure, refused or reset connection, timeout).
    ScconceptsError
        On other HTTP errors.

    """
    request = urllib.request.Request(url, method=method, headers={"User-Agent": f"scconcepts/{__version__}"})
    try:
        return urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as error:
        error.close()
        if error.code == 404:
            raise NotFoundError(f"{url} was not found (HTTP 404)") from None
        raise ScconceptsError(
            f"cannot fetch {what}: {url} answered HTTP {error.code} {error.reason}; try again later or {_LOCAL_HINT}"
        ) from None
    except urllib.error.URLError as error:
        raise _offline(what, url, error.reason) from None
    except (OSError, http.client.HTTPException) as error:
        raise _offline(what, url, error) from None


def fetch_json(url: str, *, what: str) -> Any:
    """Return the decoded JSON body of ``url``."""
    with open_url(url, what=what) as response:
        try:
            body = response.read()
        except (OSError, http.client.HTTPException) as error:
            raise _offline(what, url, error) from None
    try:
        return json.loads(body)
    except ValueError:
        raise ScconceptsError(f"cannot fetch {what}: {url} did not answer JSON; try again later") from None


def _read_block(response: http.client.HTTPResponse, *, what: str, url: str) -> bytes:
    try:
        return response.read(_CHUNK)
    except (OSError, http.client.HTTPException) as error:
        raise _offline(what, url, error) from None


def download(url: str, dest: Path, *, what: str) -> Path:
    """Download ``url`` to ``dest`` through a temporary ``.part`` file renamed only when complete.

    Parameters
    ----------
    url
        Source URL.
    dest
        Final path; its folder is created.
    what
        What is fetched, for messages and the progress bar.

    Returns
    -------
    ``dest``.

    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    response = open_url(url, what=what)
    length = response.headers.get("Content-Length")
    total = int(length) if length and length.isdigit() else None
    handle, partial = tempfile.mkstemp(prefix=f"{dest.name}.", suffix=".part", dir=dest.parent)
    written = 0
    try:
        with os.fdopen(handle, "wb") as out, response:
            with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=dest.name) as bar:
                while block := _read_block(response, what=what, url=url):
                    out.write(block)
                    written += len(block)
                    bar.update(len(block))
        if total is not None and written != total:
            raise OfflineError(
                f"the download of {what} stopped after {written} of {total} bytes; run again to retry, or {_LOCAL_HINT}"
            )
        os.replace(partial, dest)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    logger.info("downloaded %s (%d bytes) to %s", what, written, dest)
    return dest
