"""``mambaboot create [NAME] [PYVER]`` (also from environment.yml, a lockfile or a bundle)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from mambaboot.activation.quoting import for_shell
from mambaboot.cli.output import print_json
from mambaboot.cli.parser import common_options
from mambaboot.cli.progress import ProgressView
from mambaboot.errors import UsageError
from mambaboot.locations import DEFAULT_NAME, prefix_dirname, resolve_cache, resolve_root
from mambaboot.spec import DEFAULT_CHANNEL, CreateRequest, normalize_channel


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


def _request(args: argparse.Namespace) -> tuple[str, CreateRequest]:
    name, channels = args.name, args.channels
    specs: tuple[str, ...] | None = None
    lock = None
    if args.file:
        from mambaboot.spec import read_env_file, with_defaults

        envfile = read_env_file(Path(args.file))
        name = envfile.name if name is None else name
        if channels and envfile.channels:
            # never silently: -c comes first, the file's channels stay after it
            print(f"mambaboot: channels: {', '.join(channels)} (from -c), then "
                  f"{', '.join(envfile.channels)} (from {args.file}).", file=sys.stderr)
        channels = [*(channels or []), *envfile.channels] or None
        specs = with_defaults(envfile.dependencies + tuple(args.with_pkgs), not args.no_managers,
                              not args.no_pip)
    elif args.from_lock:
        lock = str(Path(args.from_lock).absolute())
        if not Path(lock).is_file():
            raise UsageError(f"The lockfile {args.from_lock} does not exist; check the path.")
        specs = ()
    dirname = prefix_dirname(DEFAULT_NAME if name is None else name, args.pyver)
    if args.from_lock or args.from_bundle:
        normalized: tuple[str, ...] = ()
    else:
        warnings: list[str] = []
        normalized = tuple(dict.fromkeys(normalize_channel(c, warnings)
                                         for c in (channels or [DEFAULT_CHANNEL])))
        for warning in warnings:
            print(f"mambaboot: {warning}", file=sys.stderr)
    return dirname, CreateRequest(
        name=dirname, python=args.pyver, channels=normalized, extra=tuple(args.with_pkgs),
        managers=not args.no_managers, pip=not args.no_pip, offline=args.offline,
        allow_link_scripts=args.allow_link_scripts, specs_override=specs, lock=lock,
        limits=_limits(args))


def _limits(args: argparse.Namespace) -> dict[str, int]:
    """Per-package unpack limits from the options, else MAMBABOOT_MAX_* variables."""
    import os
    from dataclasses import asdict

    from mambaboot.packages.archive import make_limits

    unpacked = args.max_unpacked or os.environ.get("MAMBABOOT_MAX_UNPACKED") or None
    members = args.max_members or os.environ.get("MAMBABOOT_MAX_MEMBERS") or None
    if unpacked is None and members is None:
        return {}
    try:
        return asdict(make_limits(unpacked, members))
    except ValueError:
        raise UsageError(f"The package limits {unpacked or ''} {members or ''} are not valid; "
                         "write a size like 64G and a whole number of files.") from None


def run(args: argparse.Namespace) -> int:
    from mambaboot import session

    if (args.from_lock or args.from_bundle) and (args.with_pkgs or args.pyver):
        raise UsageError("--from-lock/--from-bundle install exactly what the lock says; "
                         "drop PYVER and --with.")
    dirname, request = _request(args)
    templates = tuple(Path(t).expanduser().absolute() for t in args.template)
    for t in templates:
        if not t.is_dir():
            raise UsageError(f"The template {t} is not a directory; pass an existing folder.")
    root = resolve_root(args.root)
    cache = resolve_cache(args.cache, root)
    with contextlib.ExitStack() as stack:
        if args.from_bundle:
            from dataclasses import replace

            from mambaboot.bundle import opened_bundle

            lock, pkgs = stack.enter_context(opened_bundle(Path(args.from_bundle).absolute(),
                                                           cache.root))
            request = replace(request, lock=str(lock), bundle=str(pkgs), specs_override=())
        view = stack.enter_context(ProgressView(enabled=not (args.json or args.quiet),
                                                verbose=args.verbose))
        result = session.create(request, root / dirname, cache, engine=args.engine,
                                progress=view, templates=templates,
                                engine_options=_engine_options(args))
    for clobber in result.clobbers:  # never silent, even with --quiet or --json
        print(f"mambaboot: warning: {clobber['path']} is shipped by "
              f"{' and '.join(clobber['packages'])}; the file of "
              f"{clobber.get('installed') or 'the last one linked'} is installed, the other is "
              "kept under __clobbers__/ ('mambaboot verify' lists this).", file=sys.stderr)
    if args.json:
        print_json({"ok": True, **result.to_json()})
    elif not args.quiet:
        print(f"Created {result.prefix}")
        print(f"  {result.package_count} packages, Python {result.python_version} "
              f"(engine {result.engine} {result.engine_version}, {result.seconds:.1f} s)")
        print(f"  lockfile: {result.prefix / '.mambaboot' / 'lock.yml'}")
        print(f"  package cache: {cache.pkgs}")
        print("Enter it with:")
        print(f"  mambaboot shell {for_shell(result.prefix)}")
        print(f"  mambaboot run {for_shell(result.prefix)} -- python")
    return 0


def _engine_options(args: argparse.Namespace) -> dict[str, str]:
    """``--micromamba-*`` for the micromamba engine; refused with any other engine."""
    given = {key: value for key, value in (("version", args.micromamba_version),
                                           ("sha256", args.micromamba_sha256),
                                           ("source", args.micromamba_source)) if value}
    if given and args.engine != "micromamba":
        raise UsageError("--micromamba-version/-sha256/-source only apply to "
                         "--engine micromamba; add it or drop them.")
    return given
