"""Real wheels and a PEP 503 simple index, built by the suite and served from 127.0.0.1.

A wheel is a zip with a ``.dist-info`` (METADATA, WHEEL, RECORD with the
sha256 of every file): uv installs these exactly as it installs PyPI's.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def build_wheel(dest: Path, name: str, version: str, files: Mapping[str, str],
                requires: Sequence[str] = ()) -> Path:
    """A pure-python ``py3-none-any`` wheel of ``files`` (path -> text)."""
    dist = f"{name.replace('-', '_')}-{version}"
    entries = {path: text.encode() for path, text in files.items()}
    entries[f"{dist}.dist-info/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        + "".join(f"Requires-Dist: {r}\n" for r in requires)).encode()
    entries[f"{dist}.dist-info/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: mambaboot-tests\n"
                                          b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    record = "".join(f"{p},{_record_hash(d)},{len(d)}\n" for p, d in entries.items())
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for p, d in entries.items():
            wheel.writestr(p, d)
        wheel.writestr(f"{dist}.dist-info/RECORD", record + f"{dist}.dist-info/RECORD,,\n")
    return path


def build_sdist(dest: Path, name: str, version: str) -> Path:
    """A source distribution only (installing it would mean running its setup.py)."""
    buf = io.BytesIO()
    setup = f"from setuptools import setup; setup(name={name!r}, version={version!r})".encode()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo(f"{name}-{version}/setup.py")
        info.size = len(setup)
        tar.addfile(info, io.BytesIO(setup))
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{name}-{version}.tar.gz"
    path.write_bytes(buf.getvalue())
    return path


def write_index(root: Path) -> Path:
    """``root/simple/PROJECT/index.html`` for every file in ``root/files`` (sha256 in links)."""
    projects: dict[str, list[Path]] = {}
    for path in sorted((root / "files").iterdir()):
        project = path.name.split("-")[0].replace("_", "-").lower()
        projects.setdefault(project, []).append(path)
    for project, paths in projects.items():
        links = "".join(
            f'<a href="../../files/{p.name}#sha256={hashlib.sha256(p.read_bytes()).hexdigest()}">'
            f"{p.name}</a>\n" for p in paths)
        folder = root / "simple" / project
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "index.html").write_text(f"<html><body>\n{links}</body></html>\n")
    return root / "simple"


def demo_index(root: Path) -> Path:
    """hello 1.0 and 2.0, needs-hello 0.1 (hello<2), an sdist-only project: ``root``."""
    files = root / "files"
    build_wheel(files, "hello", "1.0", {"hello/__init__.py": "X = 1\n"})
    build_wheel(files, "hello", "2.0", {"hello/__init__.py": "X = 2\n"})
    build_wheel(files, "needs-hello", "0.1", {"needs_hello.py": "import hello\nY = hello.X\n"},
                ["hello<2"])
    build_sdist(files, "srconly", "1.0")
    write_index(root)
    return root
