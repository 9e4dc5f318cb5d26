"""``create --file environment.yml``: name, channels and dependencies.

Decision: a ``pip:`` section is refused, not silently dropped and not
installed. PyPI packages installed after the fact would not be covered by the
lockfile's sha256 guarantees; the error says how to add them explicitly with
``mambaboot run ENV -- python -m pip install ...`` after the create.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mambaboot.errors import UsageError
from mambaboot.spec import validate_spec


@dataclass(frozen=True)
class EnvFile:
    name: str | None
    channels: tuple[str, ...]
    dependencies: tuple[str, ...]


def read_env_file(path: Path) -> EnvFile:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"Cannot read {path} ({exc.strerror}); check the --file path.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise UsageError(f"{path} is not valid YAML{where}; fix the file "
                         "(see the conda environment.yml format).") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} is not an environment file (expected keys name, channels, "
                         "dependencies); fix the file.")
    deps = data.get("dependencies")
    if not isinstance(deps, list) or not deps:
        raise UsageError(f"{path} has no 'dependencies' list; add one (for example "
                         "'dependencies: [python=3.12]').")
    specs: list[str] = []
    for dep in deps:
        if isinstance(dep, dict) and "pip" in dep:
            raise UsageError(
                f"{path} has a 'pip:' section, which mambaboot does not install (PyPI packages "
                "are not covered by the lockfile); remove it and run 'mambaboot run ENV -- "
                "python -m pip install ...' after the create.")
        if not isinstance(dep, str | int | float):
            raise UsageError(f"{path} has a dependency that is not a string ({dep!r}); "
                             "write each as 'name' or 'name>=version'.")
        specs.append(validate_spec(str(dep)))
    channels = data.get("channels") or []
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise UsageError(f"{path} has a 'channels' entry that is not a list of names or URLs; "
                         "fix the file.")
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise UsageError(f"{path} has a 'name' that is not a string; fix the file.")
    return EnvFile(name, tuple(_relative_to(path.parent, c) for c in channels), tuple(specs))


def _relative_to(folder: Path, channel: str) -> str:
    """A relative channel directory in the file means relative to the file, as in conda.

    ``./chan`` or ``../chan`` always; a bare ``chan`` only when that folder exists
    next to the file (otherwise it is a channel name such as ``conda-forge``).
    """
    if "://" in channel or Path(channel).expanduser().is_absolute() or channel.startswith("~"):
        return channel
    if channel.startswith(("./", "../", ".\\", "..\\")) or (folder / channel).is_dir():
        return str((folder / channel).absolute())
    return channel


def with_defaults(deps: tuple[str, ...], managers: bool, pip: bool = True) -> tuple[str, ...]:
    """Ensure python, pip (unless --no-pip) and conda/mamba (unless --no-managers) are in."""
    names = {d.split()[0].split("=")[0].split("<")[0].split(">")[0].split("!")[0] for d in deps}
    wanted = ("python", *(("pip",) if pip else ()), *(("conda", "mamba") if managers else ()))
    extra = [n for n in wanted if n not in names]
    return (*deps, *extra)
