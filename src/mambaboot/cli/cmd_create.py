"""``mambaboot create [NAME] [PYVER]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from mambaboot.cli.output import print_json
from mambaboot.cli.parser import common_options
from mambaboot.cli.progress import ProgressView
from mambaboot.errors import UsageError
from mambaboot.locations import DEFAULT_NAME, prefix_dirname, resolve_cache, resolve_root
from mambaboot.spec import DEFAULT_CHANNEL, CreateRequest, normalize_channel, validate_spec


def register(subs: argparse._SubParsersAction) -> None:
    p = subs.add_parser("create", help="create an environment with python, conda and mamba",
                        description="Create ROOT/NAME[_PYVER] with python (PYVER or latest), "
                                    "conda and mamba.")
    p.add_argument("name", nargs="?", default=DEFAULT_NAME, help="environment name (default: py)")
    p.add_argument("pyver", nargs="?", help="python version such as 3, 3.12 or 3.12.1")
    p.add_argument("--with", dest="with_pkgs", action="append", default=[], metavar="PKG",
                   help="extra package spec (repeatable)")
    p.add_argument("--no-managers", action="store_true", help="do not install conda and mamba")
    p.add_argument("--offline", action="store_true", help="use only the package cache")
    p.add_argument("--allow-link-scripts", action="store_true",
                   help="run packages' post-link scripts (off by default: they run arbitrary code)")
    p.add_argument("--template", action="append", default=[], metavar="DIR",
                   help="copy DIR into the prefix under its own name (repeatable)")
    common_options(p, channels=True)


def run(args: argparse.Namespace) -> int:
    from mambaboot import session

    dirname = prefix_dirname(args.name, args.pyver)
    for spec in args.with_pkgs:
        validate_spec(spec)
    channels = tuple(normalize_channel(c) for c in (args.channels or [DEFAULT_CHANNEL]))
    templates = tuple(Path(t).expanduser().absolute() for t in args.template)
    for t in templates:
        if not t.is_dir():
            raise UsageError(f"The template {t} is not a directory; pass an existing folder.")
    root = resolve_root(args.root)
    cache = resolve_cache(args.cache, root)
    request = CreateRequest(name=dirname, python=args.pyver, channels=channels,
                            extra=tuple(args.with_pkgs), managers=not args.no_managers,
                            offline=args.offline, allow_link_scripts=args.allow_link_scripts)
    with ProgressView(enabled=not (args.json or args.quiet)) as view:
        result = session.create(request, root / dirname, cache, engine=args.engine,
                                progress=view, templates=templates)
    if args.json:
        print_json({"ok": True, **result.to_json()})
    elif not args.quiet:
        print(f"Created {result.prefix}")
        print(f"  {result.package_count} packages, Python {result.python_version} "
              f"(engine {result.engine} {result.engine_version}, {result.seconds:.1f} s)")
        print(f"  package cache: {cache.pkgs}")
        print("Enter it with:")
        print(f"  mambaboot shell {result.prefix}")
        print(f"  mambaboot run {result.prefix} -- python")
    return 0
