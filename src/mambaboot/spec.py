"""What to install: specs and channels, from the command line, environment.yml or the API.

Channels are normalised to URLs here (names -> conda.anaconda.org, directories
-> ``file://``) so the engines and the manifest only ever see one form.
``create_request`` is the one place that turns what a user gives (name, python
version, specs, channels, an environment.yml, a lockfile) into a
``CreateRequest``: the CLI and ``mambaboot.api`` both call it.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from mambaboot.errors import ChannelError, UsageError

if TYPE_CHECKING:
    from mambaboot.pypi import PipSection

DEFAULT_CHANNEL = "conda-forge"
CHANNEL_ALIAS = "https://conda.anaconda.org"
MANAGERS = ("conda", "mamba")
_CHANNEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*(/label/[A-Za-z0-9_.\-]+)?$")
_SPEC_FORBIDDEN = re.compile(r"[;&`$\n\r\0]")


def normalize_channel(channel: str, warnings: list[str] | None = None) -> str:
    """A name, URL or local directory -> the URL the engine reads.

    A plain-HTTP URL to another machine still works (mirrors exist), but anyone on
    the path can swap packages and repodata together, so a warning is appended
    to ``warnings`` for the CLI to print.
    """
    if not channel or not channel.strip():
        raise UsageError("A channel is empty; pass -c NAME, -c URL or -c DIRECTORY.")
    parsed = urlparse(channel)
    if parsed.scheme in ("s3", "oci", "gcs"):
        # object storage and OCI registries: the engine's client reads them, mambaboot
        # still fetches and checks every archive itself (see mambaboot.objectstore)
        if not parsed.netloc:
            raise UsageError(f"The channel {channel} names no bucket or registry; write it "
                             f"like {parsed.scheme}://name/path.")
        return channel.rstrip("/")
    if parsed.scheme in ("http", "https", "file") and (parsed.netloc or parsed.scheme == "file"):
        if parsed.scheme == "file":
            _check_channel_dir(Path(parsed.path), channel)
        elif parsed.scheme == "http" and warnings is not None and not _loopback(parsed.hostname):
            warnings.append(f"warning: the channel {channel} uses plain http://, so packages "
                            "and their hashes can be tampered with in transit; use https://.")
        return channel.rstrip("/")
    path = Path(channel).expanduser()
    if path.exists() or any(c in channel for c in "/\\") or channel.startswith((".", "~")):
        _check_channel_dir(path, channel)
        return path.absolute().as_uri()
    if not _CHANNEL_NAME.match(channel):
        raise UsageError(
            f"The channel {channel!r} is neither a name, a URL nor an existing directory; "
            "pass -c conda-forge, -c https://host/channel or -c /path/to/channel."
        )
    return f"{CHANNEL_ALIAS}/{channel}"


def _loopback(host: str | None) -> bool:
    if not host or host.lower() == "localhost":
        return bool(host)
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_channel_dir(path: Path, given: str) -> None:
    if not path.is_dir():
        raise ChannelError(
            f"The channel directory {given} does not exist; check the path or build one with "
            "'python -m mambaboot.devchannel build DIR'."
        )
    if not any(path.glob("*/repodata.json")):
        raise ChannelError(
            f"The channel directory {given} has no */repodata.json; index it first "
            "(for example with 'rattler-index fs DIR') or pass the channel's top directory."
        )


def validate_spec(spec: str) -> str:
    """Refuse specs with shell metacharacters; the solver judges the rest."""
    if not spec.strip() or _SPEC_FORBIDDEN.search(spec):
        raise UsageError(
            f"The package spec {spec!r} is empty or contains a shell character; "
            "write it like 'numpy' or 'numpy>=1.26'."
        )
    return spec.strip()


@dataclass(frozen=True)
class CreateRequest:
    """Everything that decides an environment's contents."""

    name: str
    python: str | None                      # e.g. "3.12"; None = latest
    channels: tuple[str, ...] = (CHANNEL_ALIAS + "/" + DEFAULT_CHANNEL,)
    extra: tuple[str, ...] = ()             # --with
    managers: bool = True
    #: pip with python, the conda ecosystem's convention (micromamba/mamba/conda add it
    #: on their own): both engines give the same package set; --no-pip leaves it out
    pip: bool = True
    offline: bool = False
    allow_link_scripts: bool = False
    specs_override: tuple[str, ...] | None = field(default=None)  # e.g. from environment.yml
    lock: str | None = None                 # --from-lock FILE: install exactly this, no solve
    bundle: str | None = None               # --from-bundle: directory holding the archives
    environment: str | None = None          # --environment: which one of a multi-env lock
    pypi: PipSection | None = None          # environment.yml's pip: section (uv, after conda)
    #: per-package unpack limits for packages.limits.Limits (--max-unpacked, --max-members)
    limits: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Checked when the request is made, so bad input fails before anything is written.
        for spec in self.extra:
            validate_spec(spec)

    @property
    def specs(self) -> list[str]:
        if self.specs_override is not None:
            return list(self.specs_override)
        specs = [f"python={self.python}" if self.python else "python"]
        if self.pip:
            specs.append("pip")
        if self.managers:
            specs += list(MANAGERS)
        specs += [s.strip() for s in self.extra]
        return specs


# ``create --file environment.yml``: name, channels, dependencies and a ``pip:``
# section. The ``pip:`` packages are installed by uv after the conda packages and
# locked with URL and sha256 like the conda ones (``mambaboot.pypi``).

@dataclass(frozen=True)
class EnvFile:
    name: str | None
    channels: tuple[str, ...]
    dependencies: tuple[str, ...]
    pip: PipSection | None = None


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
    pip: PipSection | None = None
    for dep in deps:
        if isinstance(dep, dict) and "pip" in dep and len(dep) == 1:
            from mambaboot.pypi import parse_pip_section

            if pip is not None:
                raise UsageError(f"{path} has two 'pip:' sections; merge them into one.")
            pip = parse_pip_section(path, dep["pip"])
            continue
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
    return EnvFile(name, tuple(_relative_to(path.parent, c) for c in channels), tuple(specs),
                   pip if pip is not None and pip.requirements else None)


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


def create_request(*, name: str | None = None, python: str | None = None,
                   specs: Sequence[str] = (), channels: Sequence[str] = (),
                   file: Path | None = None, from_lock: Path | None = None,
                   from_bundle: bool = False, managers: bool = True, pip: bool = True,
                   offline: bool = False, allow_link_scripts: bool = False,
                   limits: Mapping[str, int] | None = None, environment: str | None = None,
                   ) -> tuple[CreateRequest, tuple[str, ...]]:
    """What to create, and the warnings to show: ``(request, warnings)``.

    ``request.name`` is the prefix's folder name (``NAME_PYVER``, see
    ``locations.prefix_dirname``); NAME defaults to the file's ``name:``, then
    ``py``. With ``file``, ``channels`` come first, then the file's (a warning
    says so when both are given) and its dependencies replace the defaults
    (python, pip, conda, mamba are added unless turned off). ``from_lock`` and
    ``from_bundle`` install exactly what the lock says: no python version, no
    extra specs, no channels; ``environment`` picks one environment of a lock
    that has several.
    """
    from mambaboot.locations import DEFAULT_NAME, prefix_dirname

    if environment is not None and not (from_lock or from_bundle):
        raise UsageError("--environment picks one environment of a lockfile; use it with "
                         "--from-lock or --from-bundle.")
    if environment is not None and not environment.strip():
        raise UsageError("--environment is empty; give the name of one of the lockfile's "
                         "environments (for example --environment default).")
    if (from_lock or from_bundle) and (specs or python):
        raise UsageError("--from-lock/--from-bundle install exactly what the lock says; "
                         "drop PYVER and --with.")
    warnings: list[str] = []
    chosen = list(channels)
    override: tuple[str, ...] | None = None
    lock: str | None = None
    pypi: PipSection | None = None
    if file is not None:
        envfile = read_env_file(Path(file))
        pypi = envfile.pip
        name = envfile.name if name is None else name
        if chosen and envfile.channels:
            # never silently: -c comes first, the file's channels stay after it
            warnings.append(f"channels: {', '.join(chosen)} (from -c), then "
                            f"{', '.join(envfile.channels)} (from {os.fspath(file)}).")
        chosen += envfile.channels
        override = with_defaults(envfile.dependencies + tuple(specs), managers, pip)
    elif from_lock is not None:
        lock = str(Path(from_lock).absolute())
        if not Path(lock).is_file():
            raise UsageError(f"The lockfile {os.fspath(from_lock)} does not exist; "
                             "check the path.")
        override = ()
    dirname = prefix_dirname(DEFAULT_NAME if name is None else name, python)
    normalized: tuple[str, ...] = ()
    if from_lock is None and not from_bundle:
        normalized = tuple(dict.fromkeys(normalize_channel(c, warnings)
                                         for c in (chosen or [DEFAULT_CHANNEL])))
    request = CreateRequest(
        name=dirname, python=python, channels=normalized, extra=tuple(specs),
        managers=managers, pip=pip, offline=offline, allow_link_scripts=allow_link_scripts,
        specs_override=override, lock=lock, limits=dict(limits or {}),
        environment=environment, pypi=pypi)
    return request, tuple(warnings)


def unpack_limits(unpacked: str | None, members: str | int | None,
                  environ: Mapping[str, str] | None = None) -> dict[str, int]:
    """Per-package unpack limits (``--max-unpacked``, ``--max-members``), else
    ``MAMBABOOT_MAX_UNPACKED``/``MAMBABOOT_MAX_MEMBERS``; ``{}`` for the defaults."""
    from dataclasses import asdict

    env = os.environ if environ is None else environ
    unpacked = unpacked or env.get("MAMBABOOT_MAX_UNPACKED") or None
    members = members or env.get("MAMBABOOT_MAX_MEMBERS") or None
    if unpacked is None and members is None:
        return {}
    from mambaboot.packages.limits import make_limits

    try:
        return asdict(make_limits(unpacked, members))
    except ValueError:
        raise UsageError(f"The package limits {unpacked or ''} {members or ''} are not valid; "
                         "write a size like 64G and a whole number of files.") from None
