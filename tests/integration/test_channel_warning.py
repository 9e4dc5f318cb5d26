"""Plain-http channels to other machines work but warn; loopback and https stay quiet."""

from __future__ import annotations

import pytest

from mambaboot.spec import normalize_channel
from tests.support.sandbox import Sandbox


@pytest.mark.parametrize(("url", "warns"), [
    ("http://mirror.example/conda-forge", True),
    ("http://192.0.2.7:8080/ch", True),
    ("https://mirror.example/conda-forge", False),
    ("http://127.0.0.1:8000/ch", False),
    ("http://localhost/ch", False),
    ("http://[::1]:9/ch", False),
])
def test_plain_http_warning(url: str, warns: bool) -> None:
    warnings: list[str] = []
    assert normalize_channel(url, warnings) == url
    assert bool(warnings) is warns
    if warns:
        assert len(warnings) == 1 and "plain http://" in warnings[0] and "https://" in warnings[0]


def test_create_prints_the_warning_on_stderr(sandbox: Sandbox) -> None:
    # --offline: the channel is never contacted, the warning is printed all the same
    proc = sandbox.run("create", "w", "--no-managers", "--offline",
                       "-c", "http://192.0.2.7/conda-forge", timeout=120)
    warning = [line for line in proc.stderr.splitlines() if "plain http://" in line]
    assert len(warning) == 1 and warning[0].startswith("mambaboot: warning:")
    assert "plain http://" not in proc.stdout
