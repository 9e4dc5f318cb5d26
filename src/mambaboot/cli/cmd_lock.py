"""``mambaboot lock ENV [--format rattler|explicit|environment-yml] [-o FILE]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mambaboot.cli.output import print_json
from mambaboot.cli.parser import common_options
from mambaboot.locations import resolve_env, resolve_root
from mambaboot.prefix import require_env

FORMATS = ("rattler", "explicit", "environment-yml")


def register(subs: argparse._SubParsersAction) -> None:
    p = subs.add_parser("lock", help="refresh the lockfile from conda-meta; export it",
                        description="Rewrite ENV/.mambaboot/lock.yml from what is installed now "
                                    "(after conda/mamba changed the env) and optionally export.")
    p.add_argument("env", metavar="ENV", help="environment name under the root, or a path")
    p.add_argument("--format", choices=FORMATS, default="rattler",
                   help="rattler (lock.yml, default), explicit (@EXPLICIT with sha256) or "
                        "environment-yml (requested specs)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the export here (default: "
                   "stdout for explicit/environment-yml)")
    common_options(p)


def environment_yml(name: str, channels: list[str], specs: list[str]) -> str:
    import yaml

    return yaml.safe_dump({"name": name, "channels": channels, "dependencies": specs},
                          sort_keys=False)


def run(args: argparse.Namespace) -> int:
    from mambaboot import lockfile

    prefix = require_env(resolve_env(args.env, resolve_root(args.root)))
    manifest = prefix.read_manifest()
    channels = list(manifest.get("channels", []))
    records = lockfile.prefix_records(prefix.path)
    _require_writable(prefix.lockfile.parent)
    lockfile.write_lock(records, channels, prefix.lockfile)
    text: str | None = None
    if args.format == "explicit":
        text = lockfile.explicit_text(records)
    elif args.format == "environment-yml":
        text = environment_yml(manifest.get("name", prefix.name), channels,
                               list(manifest.get("specs", [])))
    elif args.output:  # the rattler format's export is lock.yml itself
        text = prefix.lockfile.read_text(encoding="utf-8")
    written: Path | None = None
    if text is not None and args.output:
        written = Path(args.output)
        _write(written, text)
    if args.json:
        # without -o the export travels in the document itself, never silently nowhere
        print_json({"ok": True, "lockfile": str(prefix.lockfile), "packages": len(records),
                    "format": args.format, "output": str(written) if written else None,
                    **({"content": text} if text is not None and written is None else {})})
    elif text is not None and written is None:
        sys.stdout.write(text)
    elif not args.quiet:
        print(f"Locked {len(records)} packages in {prefix.lockfile}")
        if written is not None:
            print(f"Exported {args.format} to {written}")
    return 0


def _write(path: Path, text: str) -> None:
    """Write the export, or one sentence on why it cannot be written."""
    from mambaboot.errors import MambabootError, UsageError

    if path.is_dir():
        raise UsageError(f"-o {path} is a directory; give a file name, e.g. {path / 'env.txt'}.")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise MambabootError(f"Cannot write {path} ({exc.strerror}); choose a writable path "
                             "with -o.") from None


def _require_writable(folder: Path) -> None:
    """The engine's own writer reports a read-only disk as a bare IoError: ask first."""
    import os

    from mambaboot.errors import MambabootError

    probe = folder / f".lock-probe-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise MambabootError(
            f"Cannot refresh the lockfile in {folder} ({exc.strerror}); make the environment "
            "writable, or export without refreshing by reading "
            f"{folder / 'lock.yml'} as it is.") from None
