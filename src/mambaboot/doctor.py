"""``mambaboot doctor``: find what would break one-env-per-shell or the clean setup.

Strictly read-only. Every check names the place (variable, registry value, file,
PATH entry) and a one-line fix, because the usual culprits (``conda init``
blocks, a cmd.exe AutoRun hook, a base conda on PATH) were put there by other
tools and are invisible until an environment misbehaves.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from mambaboot.activation.cleanenv import active_variables, fix_command
from mambaboot.results import DoctorReport, Finding

__all__ = ["DoctorReport", "Finding", "diagnose"]

#: (hive, key, value name) -> the value's data, or None when absent.
RegistryReader = Callable[[str, str, str], "str | None"]

AUTORUN_KEY = r"Software\Microsoft\Command Processor"
_HOOK = re.compile(r"conda|mamba", re.IGNORECASE)
_INIT_BLOCK = re.compile(r">>>\s*(conda|mamba|micromamba) initialize\s*>>>")
_MANAGERS = ("conda", "mamba", "micromamba")
_PYTHONS = ("python", "python3")
_EXE_SUFFIXES = ("", ".exe", ".bat", ".cmd") if sys.platform == "win32" else ("",)


def read_registry(hive: str, key: str, value: str) -> str | None:
    """Read one registry value (read-only); None off Windows or when it is absent."""
    if sys.platform != "win32":
        return None
    import winreg

    root = {"HKCU": winreg.HKEY_CURRENT_USER, "HKLM": winreg.HKEY_LOCAL_MACHINE}[hive]
    try:
        with winreg.OpenKey(root, key, 0, winreg.KEY_READ) as handle:
            data, _kind = winreg.QueryValueEx(handle, value)
    except OSError:
        return None
    return str(data) if data else None


def check_variables(environ: Mapping[str, str]) -> list[Finding]:
    return [Finding("active-variable", var, f"{var}={environ[var]} means an environment is "
                    "active in this shell; mambaboot create/run/shell refuse to start from it",
                    f"run '{fix_command(var)}' first")
            for var in active_variables(environ)]


def check_autorun(reader: RegistryReader) -> list[Finding]:
    """cmd.exe runs HKCU/HKLM ``AutoRun`` in every new window, including ours."""
    found = []
    for hive in ("HKCU", "HKLM"):
        value = reader(hive, AUTORUN_KEY, "AutoRun")
        if not value:
            continue
        where = f"{hive}\\{AUTORUN_KEY}\\AutoRun"
        hook = "calls a conda/mamba hook" if _HOOK.search(value) else "runs a command"
        found.append(Finding(
            "autorun", where, f"{hook} in every cmd.exe ({value!r})",
            f"run 'conda init --reverse cmd.exe' or 'reg delete \"{hive}\\{AUTORUN_KEY}\" "
            "/v AutoRun' (mambaboot shell already starts cmd.exe with /d)"))
    return found


def rc_files(environ: Mapping[str, str]) -> list[Path]:
    """Shell start-up files conda/mamba init write to, honouring HOME/USERPROFILE/XDG."""
    homes = list(dict.fromkeys(Path(environ[v]) for v in ("HOME", "USERPROFILE")
                               if environ.get(v)))
    files: list[Path] = []
    for home in homes or [Path.home()]:
        config = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
        zdot = Path(environ.get("ZDOTDIR") or home)
        files += [home / ".bashrc", home / ".bash_profile", home / ".profile",
                  zdot / ".zshrc", config / "fish" / "config.fish"]
        for folder in (home / "Documents" / "PowerShell", home / "Documents" /
                       "WindowsPowerShell", config / "powershell"):
            files += [folder / "profile.ps1", folder / "Microsoft.PowerShell_profile.ps1"]
    return list(dict.fromkeys(files))


def check_rc_files(files: Iterable[Path]) -> list[Finding]:
    found = []
    for path in files:
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for number, line in enumerate(lines, 1):
            block = _INIT_BLOCK.search(line)
            if block:
                tool = block.group(1)
                undo = ("run 'conda init --reverse'" if tool == "conda"
                        else f"run '{tool} shell deinit'")
                found.append(Finding(
                    "rc-file", f"{path}:{number}", f"a '{tool} initialize' block activates "
                    "an environment in every new shell", f"delete the block from {path} "
                    f"(or {undo})"))
                break
    return found


def _is_mambaboot_env(folder: Path) -> Path | None:
    """The env prefix when ``folder`` is one of its PATH dirs (bin, Scripts, Library/bin)."""
    for prefix in (folder.parent, folder.parent.parent):
        if (prefix / ".mambaboot" / "env.json").is_file():
            return prefix
    return None


def _executables(folder: Path, names: Iterable[str]) -> list[str]:
    return [n + s for n in names for s in _EXE_SUFFIXES if (folder / (n + s)).is_file()]


def check_path(environ: Mapping[str, str]) -> list[Finding]:
    """conda/mamba anywhere on PATH, or any python ahead of a mambaboot env's own."""
    entries = [Path(p) for p in environ.get("PATH", "").split(os.pathsep) if p]
    envs = [i for i, e in enumerate(entries) if _is_mambaboot_env(e)]
    first_env = envs[0] if envs else None
    found = []
    for index, entry in enumerate(entries):
        if _is_mambaboot_env(entry):
            continue
        managers = _executables(entry, _MANAGERS)
        ahead = (first_env is not None and index < first_env
                 and _executables(entry, _PYTHONS + _MANAGERS))
        names = ahead or managers
        if not names:
            continue
        listed = ", ".join(names)
        if ahead and first_env is not None:  # ahead is empty without first_env
            env = _is_mambaboot_env(entries[first_env])
            problem = f"{listed} here come(s) first on PATH and shadow(s) those of {env}"
        else:
            problem = f"{listed} here run(s) outside any mambaboot environment"
        found.append(Finding("path", str(entry), problem,
                             f"remove {entry} from PATH (often added by 'conda init' or an "
                             "installer) and enter environments with 'mambaboot shell ENV'"))
    return found


def check_cache_filesystem(root: Path, pkgs: Path,
                           device: Callable[[Path], int] | None = None) -> list[Finding]:
    """Hard links need cache and environments on one filesystem (one drive on Windows)."""
    dev = device or (lambda p: os.stat(p).st_dev)
    existing = [next((p for p in (path, *path.parents) if p.exists()), path)
                for path in (root, pkgs)]
    if dev(existing[0]) == dev(existing[1]):
        return []
    return [Finding("cache-filesystem", str(pkgs),
                    f"the package cache is on another filesystem than the root {root}, so "
                    "every create copies files instead of hard-linking them (slow, wasteful)",
                    f"pass --cache {root / '.cache'} or set MAMBABOOT_CACHE to a folder on the "
                    "same drive as the root")]


def diagnose(root: Path, pkgs: Path, environ: Mapping[str, str] | None = None,
             reader: RegistryReader = read_registry) -> DoctorReport:
    """Run every check; nothing is written or changed."""
    env = os.environ if environ is None else environ
    files = rc_files(env)
    findings = [*check_variables(env), *check_autorun(reader), *check_rc_files(files),
                *check_path(env), *check_cache_filesystem(root, pkgs)]
    return DoctorReport(tuple(findings), tuple(str(f) for f in files))
