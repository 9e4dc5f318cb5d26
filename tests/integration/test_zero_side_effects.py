"""The whole lifecycle changes nothing outside the environments root and the cache.

create, list, verify, lock, bundle, shell (a real bash through a pty), run and
remove, with HOME, XDG_*, APPDATA, LOCALAPPDATA, USERPROFILE and TMPDIR all in
empty temp folders: afterwards every one of them is still empty, and the root
holds nothing but the cache and our lock folder. (On Windows the same test
would also read HKCU/HKLM Command Processor AutoRun and the PowerShell
profiles before and after; that reader is unit-tested in tests/test_doctor.py.)
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pexpect
import pytest

from tests.support.marks import needs_pty
from tests.support.sandbox import Sandbox, snapshot


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@needs_pty
def test_full_lifecycle_leaves_no_trace(sandbox: Sandbox, demo_channel: Path,
                                        tmp_path: Path) -> None:
    outside = snapshot(sandbox.base)
    sandbox.run("create", "life", "-c", str(demo_channel), "--with", "demo-activate",
                "--with", "demo-tool", check=True)
    prefix = sandbox.root / "life"
    sandbox.run("list", check=True)
    sandbox.run("verify", "life", check=True)
    sandbox.run("lock", "life", check=True)
    sandbox.run("lock", "life", "--format", "explicit", check=True)
    sandbox.run("bundle", "life", str(sandbox.root / "life.tar"), check=True)
    ran = sandbox.run("run", "life", "--", "demo-tool", check=True)
    assert ran.stdout.strip()
    child = pexpect.spawn(sys.executable, ["-m", "mambaboot", "shell", "life", "--shell",
                                           "bash"], env={**sandbox.env, "TERM": "dumb"},
                          cwd=str(sandbox.base), encoding="utf-8", timeout=60)
    child.expect_exact("(life) ")
    child.sendline('echo "<""<$CONDA_PREFIX>"">"')
    child.expect(r"<<(.*)>>")
    assert child.match.group(1) == str(prefix)
    child.sendline("exit")
    child.expect(pexpect.EOF)
    (sandbox.root / "life.tar").unlink()
    # The interactive bash the user typed into keeps its own history, as it would in
    # any terminal: that is the user's shell, not mambaboot, writing.
    (Path(sandbox.env["HOME"]) / ".bash_history").unlink(missing_ok=True)
    sandbox.run("remove", "life", "--yes", check=True)

    sandbox.assert_user_dirs_untouched()
    assert not any((sandbox.user_dirs / "tmp").iterdir()), "temporary files left behind"
    # nothing appeared anywhere else under the sandbox but the root's own content
    after = snapshot(sandbox.base)
    new = {p for p in after - outside if not p.startswith(sandbox.root.name)}
    assert new == set()
    leftovers = {p.name for p in sandbox.root.iterdir()}
    assert leftovers <= {".cache", ".mambaboot-locks"}, leftovers
