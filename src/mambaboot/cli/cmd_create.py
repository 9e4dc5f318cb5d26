"""``mambaboot create [NAME] [PYVER]`` (also from environment.yml, a lockfile or a bundle)."""

from __future__ import annotations

import argparse
from typing import Any

from mambaboot.cli.parser import common_options
from mambaboot.cli.progress import ProgressView
from mambaboot.errors import UsageError


def register(subs: argparse._SubParsersAction) -> None:
    p = subs.add_parser("create", help="create an environment with python, conda and mamba",
                        description="Create ROOT/NAME[_PYVER] with python (PYVER or latest), "
                                    "conda and mamba.")
    p.add_argument("name", nargs="?", help="environment name (default: py)")
    p.add_argument("pyver", nargs="?", help="python version such as 3, 3.12 or 3.12.1")
    p.add_argument("--with", dest="with_pkgs", action="append", default=[], metavar="PKG",
                   help="extra package spec (repeatable)")
    p.add_argument("--no-managers", action="store_true", help="do not install conda and mamba")
    p.add_argument("--no-pip", action="store_true",
                   help="do not add pip (by default python comes with pip, as in conda)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--file", metavar="YML", help="environment.yml: name, channels, deps")
    source.add_argument("--from-lock", metavar="FILE",
                        help="our lock.yml, a pixi.lock or an @EXPLICIT file: no solve")
    source.add_argument("--from-bundle", metavar="DIR|TAR",
                        help="a bundle written by 'mambaboot bundle' (works air-gapped)")
    p.add_argument("-e", "--environment", metavar="NAME",
                   help="with --from-lock: which environment of a lock that has several "
                        "(pixi workspaces; default: 'default', with a warning naming the others)")
    p.add_argument("--offline", action="store_true", help="use only the package cache")
    p.add_argument("--max-unpacked", metavar="SIZE",
                   help="largest size one package may unpack to, e.g. 64G (default: 32G, and "
                        "at most 200x its archive once past 512M; env MAMBABOOT_MAX_UNPACKED)")
    p.add_argument("--max-members", metavar="N",
                   help="most files one package may hold (default: 500000; env "
                        "MAMBABOOT_MAX_MEMBERS)")
    p.add_argument("--allow-link-scripts", action="store_true",
                   help="run packages' post-link scripts (off by default: they run arbitrary code)")
    p.add_argument("--template", action="append", default=[], metavar="DIR",
                   help="copy DIR into the prefix under its own name (repeatable)")
    from mambaboot.cli.cmd_micromamba import add_binary_options

    add_binary_options(p.add_argument_group("--engine micromamba"))
    common_options(p, channels=True)


def run(args: argparse.Namespace) -> int:
    from mambaboot import api
    from mambaboot.cli import render

    options = _engine_options(args)
    with ProgressView(enabled=not (args.json or args.quiet), verbose=args.verbose) as view:
        def progress(event: str, data: dict[str, Any]) -> None:
            render.warnings_only(event, data)  # never silent, even with --quiet or --json
            if event != "warning":
                view(event, data)

        result = api.create(
            name=args.name, python=args.pyver, root=args.root, cache=args.cache,
            specs=args.with_pkgs, channels=args.channels or (), file=args.file,
            from_lock=args.from_lock, from_bundle=args.from_bundle,
            managers=not args.no_managers, pip=not args.no_pip, offline=args.offline,
            engine=args.engine, allow_link_scripts=args.allow_link_scripts,
            templates=args.template, max_unpacked=args.max_unpacked,
            max_members=args.max_members, engine_options=options,
            environment=args.environment, progress=progress)
    return render.render("create", result, as_json=args.json, quiet=args.quiet)


def _engine_options(args: argparse.Namespace) -> dict[str, str]:
    """``--micromamba-*`` for the micromamba engine; refused with any other engine."""
    given = {key: value for key, value in (("version", args.micromamba_version),
                                           ("sha256", args.micromamba_sha256),
                                           ("source", args.micromamba_source)) if value}
    if given and args.engine != "micromamba":
        raise UsageError("--micromamba-version/-sha256/-source only apply to "
                         "--engine micromamba; add it or drop them.")
    return given
