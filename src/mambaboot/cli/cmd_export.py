"""``mambaboot export ENV DIR``: an installer folder for a machine with nothing installed."""

from __future__ import annotations

import argparse

from mambaboot.cli.parser import common_options


def register(subs: argparse._SubParsersAction) -> None:
    p = subs.add_parser(
        "export", help="write install.sh/.bat/.ps1 that rebuild ENV where nothing is installed",
        description="Write DIR: install.sh (POSIX sh), install.bat (cmd.exe) and install.ps1, "
                    "each annotated, plus env.txt (every package with its sha256), lock.yml and "
                    "README.txt. They rebuild ENV with a pinned, sha256-checked micromamba on "
                    "a machine with no Python, conda or mambaboot, and write nothing outside "
                    "the target and its cache folder.")
    p.add_argument("env", metavar="ENV", help="environment name under the root, or a path")
    p.add_argument("out", metavar="DIR", help="a new (or empty) folder")
    p.add_argument("--offline", action="store_true",
                   help="also put every package archive and the micromamba binary in DIR, so "
                        "the install needs no network at all")
    p.add_argument("--micromamba", metavar="FILE",
                   help="embed this micromamba binary (its sha256 is computed and written "
                        "into the scripts) instead of the pinned release")
    p.add_argument("--platform", metavar="SUBDIR",
                   help="the platform to export for; only the environment's own is possible "
                        "(an environment is locked for one platform)")
    from mambaboot.cli.cmd_micromamba import add_binary_options

    add_binary_options(p, sources=False)
    common_options(p)


def run(args: argparse.Namespace) -> int:
    from mambaboot import api
    from mambaboot.cli.render import render, warnings_only

    result = api.export(env=args.env, out=args.out, root=args.root, cache=args.cache,
                        offline=args.offline, micromamba=args.micromamba,
                        platform=args.platform, micromamba_version=args.micromamba_version,
                        micromamba_sha256=args.micromamba_sha256, progress=warnings_only)
    return render("export", result, as_json=args.json, quiet=args.quiet)
