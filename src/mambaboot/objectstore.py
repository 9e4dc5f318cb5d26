"""Channels on object storage and OCI registries: ``s3://``, ``gcs://``, ``oci://``.

These are how teams share packages once one machine is not enough, through
transports the engine already speaks: py-rattler's client, with its S3, GCS
and OCI middlewares, reads their repodata (the solve) and, here, their
archives. mambaboot still fetches every archive itself and checks its sha256
before it is kept (``net.download_verified``, with the same retries as
https), so nothing about the package checks changes with the transport.

Credentials and endpoints come from each service's standard settings, read by
the engine's SDKs: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
``AWS_REGION``, ``AWS_ENDPOINT_URL`` (an S3-compatible server such as MinIO),
``AWS_PROFILE`` and ``~/.aws``; ``GOOGLE_APPLICATION_CREDENTIALS`` for GCS;
public OCI registries need none. mambaboot writes none of them.

The client is native code, so it runs where rattler already is (the engine
worker); another process (``bundle``) asks a worker to fetch the file.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from mambaboot.errors import ObjectFetchError

#: URL schemes served through the engine's client rather than plain HTTP.
SCHEMES = ("s3", "gcs", "oci")


def is_object_url(url: str) -> bool:
    return urlparse(url).scheme in SCHEMES


def uses_object_store(channels: list[str]) -> bool:
    return any(is_object_url(c) for c in channels)


def client() -> Any:
    """py-rattler's client with the S3, GCS and OCI middlewares and nothing else: no
    credential store or keyring (those would be hidden state), no retries of its own
    (ours wrap every attempt)."""
    from rattler.networking import Client, GCSMiddleware, OciMiddleware, S3Middleware

    return Client([S3Middleware(), GCSMiddleware(), OciMiddleware()])


def fetch(url: str, dest: Path) -> None:
    """Write the object at ``url`` to ``dest`` (one attempt; raises ObjectFetchError)."""
    if "rattler" not in sys.modules:
        # this process keeps native code out (the CLI): a worker fetches it
        from mambaboot import child
        from mambaboot.errors import MambabootError

        try:
            child.run(child.RATTLER_WORKER, {"op": "fetch-object", "url": url, "dest": str(dest)},
                      what="The object-store reader", doing=f" while fetching {url}")
        except MambabootError as exc:
            raise ObjectFetchError(exc.message) from None
        return
    _in_thread(lambda: asyncio.run(fetch_async(url, dest)))


async def fetch_async(url: str, dest: Path) -> None:
    from rattler.package_streaming import download_to_path

    try:
        await download_to_path(client(), url, dest)
    except Exception as exc:  # rattler raises its own types, often bare Exception
        text = str(exc).strip().splitlines()
        raise ObjectFetchError(f"{type(exc).__name__}: {text[0] if text else ''}") from None


def _in_thread(fn: Any) -> None:
    """asyncio.run cannot nest in a running loop (the worker's ops are coroutines)."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="mambaboot-object-fetch", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
