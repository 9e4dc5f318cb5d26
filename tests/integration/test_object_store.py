"""s3:// channels for real: an S3-compatible server from PyPI (moto) on 127.0.0.1.

The solve reads the bucket's repodata through the engine's S3 client; every
archive is fetched by mambaboot's own downloader through the same client and
checked against its sha256, so a replaced object is refused as on https.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.sandbox import Sandbox

boto3 = pytest.importorskip("boto3", reason="the S3 test server (moto[server]) is a test extra")
pytest.importorskip("moto", reason="the S3 test server (moto[server]) is a test extra")

BUCKET = "team-channel"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def s3_server(tmp_path: Path) -> Iterator[dict[str, str]]:
    """moto's S3 server: the AWS settings a client needs to reach it."""
    port = _free_port()
    log = (tmp_path / "moto.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], stdout=log, stderr=subprocess.STDOUT)
    settings = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail(f"moto server did not start: {(tmp_path / 'moto.log').read_text()}")
                time.sleep(0.2)
        yield settings
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def s3_client(settings: dict[str, str]) -> Any:
    """boto3 (moto's dependency) as the team's uploader; moto takes any credentials."""
    return boto3.client("s3", endpoint_url=settings["AWS_ENDPOINT_URL"], region_name="us-east-1",
                        aws_access_key_id=settings["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=settings["AWS_SECRET_ACCESS_KEY"])


def upload_channel(settings: dict[str, str], channel: Path) -> str:
    """The demo channel's repodata and its python archive, as a team would upload them."""
    s3 = s3_client(settings)
    s3.create_bucket(Bucket=BUCKET)
    for subdir in ("noarch", "linux-64"):
        for path in sorted((channel / subdir).iterdir()):
            if path.name == "repodata.json" or path.name.startswith("python-3"):
                s3.upload_file(str(path), BUCKET, f"demo/{subdir}/{path.name}")
    return f"s3://{BUCKET}/demo"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the demo python is linux-64")
def test_an_s3_channel_creates_locks_and_rebuilds(sandbox: Sandbox, demo_channel: Path,
                                                  s3_server: dict[str, str],
                                                  tmp_path: Path) -> None:
    url = upload_channel(s3_server, demo_channel)
    env = {**sandbox.env, **s3_server}
    made = sandbox.run("create", "ons3", "--no-managers", "--no-pip", "-c", url, env=env)
    assert made.returncode == 0, made.stderr
    ran = sandbox.run("run", "ons3", "--", "python", "-c", "print(42)", env=env, check=True)
    assert ran.stdout.strip() == "42"
    lock = sandbox.root / "ons3" / ".mambaboot" / "lock.yml"
    urls = [p["conda"] for p in yaml.safe_load(lock.read_text())["packages"]]
    assert urls and all(u.startswith(f"{url}/linux-64/python-3") for u in urls)
    # the installer's micromamba cannot read s3://: only an --offline export is offered
    exported = sandbox.run("export", "ons3", str(tmp_path / "share"), env=env)
    assert exported.returncode == 2 and "--offline" in exported.stderr
    assert not (tmp_path / "share").exists()
    # rebuilt from the lock with an empty cache: fetched from the bucket, sha256-checked
    again = sandbox.run("create", "again", "--from-lock", str(lock), "--cache",
                        str(tmp_path / "empty-cache"), env=env)
    assert again.returncode == 0, again.stderr
    # a replaced object is refused like a replaced https download
    key = urls[0].removeprefix(f"s3://{BUCKET}/")
    s3_client(s3_server).put_object(Bucket=BUCKET, Key=key, Body=b"not the package")
    tampered = sandbox.run("create", "third", "--from-lock", str(lock), "--cache",
                           str(tmp_path / "another-cache"), env=env)
    assert tampered.returncode == 1 and "sha256" in tampered.stderr
    assert "Traceback" not in tampered.stderr and not (sandbox.root / "third").exists()


def test_missing_s3_settings_are_named(sandbox: Sandbox, demo_channel: Path,
                                       s3_server: dict[str, str]) -> None:
    upload_channel(s3_server, demo_channel)
    env = {k: v for k, v in sandbox.env.items() if not k.startswith("AWS_")}
    env["AWS_ENDPOINT_URL"] = s3_server["AWS_ENDPOINT_URL"]
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    proc = sandbox.run("create", "nocreds", "--no-managers", "--no-pip", "-c",
                       f"s3://{BUCKET}/demo", env=env, timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "A channel could not be read" in proc.stderr and "AWS_REGION" in proc.stderr
    assert not (sandbox.root / "nocreds").exists()


def test_the_micromamba_engine_refuses_object_store_channels(sandbox: Sandbox) -> None:
    proc = sandbox.run("create", "mm", "--engine", "micromamba", "--no-managers", "-c",
                       f"s3://{BUCKET}/demo")
    assert proc.returncode == 2 and "drop --engine micromamba" in proc.stderr
