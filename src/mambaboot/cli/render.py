"""The one renderer: a result or an error -> text for people, or the JSON envelope.

Every command ends here. With ``--json``, stdout is exactly one document:

    {"schema": 1, "command": "create", "ok": true, "exit_code": 0,
     "warnings": [], "result": {...}}

and on failure (usage errors included)

    {"schema": 1, "command": "create", "ok": false, "exit_code": 2,
     "warnings": [], "error": {"type": "UsageError", "message": "...", "details": null}}

``ok`` is ``exit_code == 0``: a ``verify`` that finds drift or a ``doctor``
with findings has ``ok: false``, exit code 1 and its ``result`` (no
``error``). ``warnings`` are the texts also printed on stderr as
``mambaboot: ...`` while the command ran. ``command`` is null only for a usage
error before a command was named; Ctrl-C gives ``"type": "KeyboardInterrupt"``
and exit code 130. ``SCHEMA`` changes only when a key is
renamed or removed or its meaning changes; new keys may appear at any time.
Text goes to stdout, warnings and errors to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from mambaboot.errors import MambabootError

SCHEMA = 1

#: Warnings printed during this command, repeated in the JSON envelope.
_warnings: list[str] = []


def reset() -> None:
    _warnings.clear()


def warn(message: str) -> None:
    """One line on stderr now (even with -q or --json), and in the envelope later."""
    _warnings.append(message)
    sys.stderr.write(f"mambaboot: {message}\n")
    sys.stderr.flush()


def warnings_only(event: str, data: dict[str, Any]) -> None:
    """A progress callback for commands that draw no progress: warnings are still said."""
    if event == "warning":
        warn(str(data["message"]))


def envelope(command: str | None, *, exit_code: int = 0, result: Any = None,
             error: BaseException | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"schema": SCHEMA, "command": command, "ok": exit_code == 0,
                           "exit_code": exit_code, "warnings": list(_warnings)}
    if error is not None:
        doc["error"] = error_json(error)
    else:
        doc["result"] = result.to_json() if hasattr(result, "to_json") else result
    return doc


def interrupted(command: str | None, message: str) -> dict[str, Any]:
    """The envelope of a command cut short by Ctrl-C (exit code 130)."""
    doc = envelope(command, exit_code=130, result=None)
    del doc["result"]
    doc["error"] = {"type": "KeyboardInterrupt", "message": message, "details": None}
    return doc


def error_json(exc: BaseException) -> dict[str, Any]:
    """``{"type", "message", "details"}``: the class name, the sentence, the extra lines."""
    message, details = _message(exc)
    return {"type": type(exc).__name__, "message": message, "details": details}


def _message(exc: BaseException) -> tuple[str, str | None]:
    if isinstance(exc, MambabootError):
        return exc.message, exc.details
    if isinstance(exc, ModuleNotFoundError):  # a broken install: say so, never a traceback
        return missing_module(exc.name), None
    return (f"Unexpected error ({type(exc).__name__}: {exc}); run again with -v and report it.",
            None)


def missing_module(module: str | None, command: str | None = None) -> str:
    """The one sentence for a broken install: which module is missing, and the fix."""
    what = f"its '{command}' command" if command else "a module it needs"
    return (f"mambaboot cannot load {what}: the module {module or '?'!r} is not installed; "
            "reinstall mambaboot with its dependencies ('pip install --force-reinstall "
            "mambaboot', or 'pip install -e .' in a checkout).")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def render(command: str, result: Any, *, as_json: bool, quiet: bool = False,
           exit_code: int | None = None, **context: Any) -> int:
    """Show ``result`` of ``command``; return the exit code (1 when ``result.ok`` is False).

    ``context`` carries what the text needs beyond the result (``env`` as typed).
    """
    code = exit_code if exit_code is not None else (0 if getattr(result, "ok", True) else 1)
    for warning in _result_warnings(command, result):
        warn(warning)
    if as_json:
        print_json(envelope(command, exit_code=code, result=result))
    else:
        _TEXT[command](result, quiet, code, **context)
    return code


def report_error(exc: BaseException, *, command: str | None, verbose: bool,
                 as_json: bool) -> int:
    """One sentence on stderr (the traceback only with -v); return the exit code."""
    code = exc.exit_code if isinstance(exc, MambabootError) else 1
    message, details = _message(exc)
    if verbose:
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    if as_json:
        print_json(envelope(command, exit_code=code, error=exc))
    sys.stderr.write(f"mambaboot: {message}\n")
    if details:
        for line in details.splitlines():
            sys.stderr.write(f"    {line}\n")
    return code


# -- text, one function per command: (result, quiet, exit_code, **context) ------------

def _result_warnings(command: str, result: Any) -> list[str]:
    if command != "create":
        return []
    return [f"warning: {c['path']} is shipped by {' and '.join(c['packages'])}; the file of "
            f"{c.get('installed') or 'the last one linked'} is installed, the other is kept "
            "under __clobbers__/ ('mambaboot verify' lists this)." for c in result.clobbers]


def _create(result: Any, quiet: bool, _code: int, **_: Any) -> None:
    from mambaboot.platforms import for_shell

    if quiet:
        return
    print(f"Created {result.prefix}")
    pypi = f" + {result.pypi_count} from PyPI" if result.pypi_count else ""
    print(f"  {result.package_count} packages{pypi}, Python {result.python_version} "
          f"(engine {result.engine} {result.engine_version}, {result.seconds:.1f} s)")
    print(f"  lockfile: {result.lockfile}")
    if result.package_cache is not None:
        print(f"  package cache: {result.package_cache}")
    print("Enter it with:")
    print(f"  mambaboot shell {for_shell(result.prefix)}")
    print(f"  mambaboot run {for_shell(result.prefix)} -- python")


def _list(result: Any, _quiet: bool, _code: int, **_: Any) -> None:
    if not result.environments:
        print(f"No environments under {result.root}; create one with 'mambaboot create'.")
        return
    from rich.table import Table

    from mambaboot.cli.output import console, human_size

    table = Table(title=f"Environments under {result.root}", title_justify="left")
    for col in ("name", "python", "packages", "size", "status"):
        table.add_column(col, justify="right" if col in ("packages", "size") else "left")
    for env in result.environments:
        table.add_row(env.name, env.python_version or "-", str(env.package_count),
                      human_size(env.size_bytes), env.status)
    console().print(table)


def _verify(result: Any, quiet: bool, _code: int, *, env: str = "", **_: Any) -> None:
    if quiet and result.ok:
        return
    print(f"Verifying {result.prefix}")
    for check in result.checks:
        print(f"  {'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    print("OK" if result.ok else verify_advice(result, env or str(result.prefix)))


def verify_advice(report: Any, env: str) -> str:
    """The fix that fits what failed: only the lockfile is behind -> record the change."""
    from mambaboot.platforms import for_shell

    failed = {c.name for c in report.checks if not c.ok}
    if failed == {"lockfile"}:
        return ("The packages changed since the lockfile was written (conda or mamba inside?); "
                f"if that was you, record it with 'mambaboot lock {for_shell(env)}', otherwise "
                "recreate the environment from its lockfile.")
    return ("Problems found; if they are not yours, recreate the environment "
            f"('mambaboot remove {for_shell(env)}', then create it again).")


def _lock(result: Any, quiet: bool, _code: int, **_: Any) -> None:
    if result.content is not None:  # an export without -o goes to stdout, even with -q
        sys.stdout.write(result.content)
        return
    if quiet:
        return
    print(f"Locked {result.packages} packages in {result.lockfile}")
    if result.output is not None:
        print(f"Exported {result.format} to {result.output}")


def _bundle(result: Any, quiet: bool, _code: int, **_: Any) -> None:
    if not quiet:
        print(f"Wrote bundle {result.bundle}")
        print(f"  rebuild with: mambaboot create NAME --from-bundle {result.bundle}")


def _export(result: Any, quiet: bool, _code: int, **_: Any) -> None:
    if not quiet:
        if result.offline:
            where = "everything inside, no network needed"
        elif result.micromamba_embedded:
            where = "micromamba inside, packages are downloaded"
        else:
            where = "micromamba and packages are downloaded"
        print(f"Wrote installer {result.folder} ({result.packages} packages, {result.platform}; "
              f"{where})")
        print("  on the other machine: sh install.sh [TARGET]  (or install.bat, install.ps1)")
        print(f"  micromamba sha256 {result.micromamba_sha256}")


def _remove(result: Any, quiet: bool, code: int, **_: Any) -> None:
    if result.dry_run:
        print(f"Would remove {result.prefix} ({len(result.entries)} entries: "
              f"{', '.join(result.entries)}); the package cache is kept.")
    elif not result.removed:
        print("Nothing removed.")
    elif not quiet:
        print(f"Removed {result.prefix}")


def _doctor(result: Any, quiet: bool, _code: int, **_: Any) -> None:
    if quiet and result.ok:
        return
    if result.ok:
        print("No problems found: no active environment, AutoRun hook, init block, "
              "stray conda on PATH or cross-filesystem cache.")
        return
    print(f"{len(result.findings)} problem(s) found:")
    for finding in result.findings:
        print(f"- [{finding.kind}] {finding.where}: {finding.problem}")
        print(f"    fix: {finding.fix}")


def _micromamba(result: Any, quiet: bool, _code: int, **_: Any) -> None:
    info = result.binary
    if result.action == "path":
        print(info.path)
        return
    if quiet:
        return
    verb = {"fetch": "Fetched" if info.downloaded else "Cached", "verify": "Verified"}
    print(f"{verb[result.action]} micromamba {info.version} ({info.subdir}): {info.path}")
    print(f"  sha256 {info.sha256}")
    print(f"  from {info.source}: {info.url}")


_TEXT: dict[str, Callable[..., None]] = {
    "create": _create, "list": _list, "verify": _verify, "lock": _lock, "bundle": _bundle,
    "export": _export,
    "remove": _remove, "doctor": _doctor, "micromamba": _micromamba,
}
