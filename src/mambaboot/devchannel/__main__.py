"""CLI: ``python -m mambaboot.devchannel build|serve|synthetic``.

`build DIR` is the README's offline demo: it creates a channel that mambaboot
can install from with no network at all.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from mambaboot.devchannel.build import build_demo_channel
from mambaboot.devchannel.server import ChannelServer
from mambaboot.devchannel.synthetic import build_synthetic_channel


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mambaboot.devchannel", description="Local conda channels for offline use."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build the demo channel into DIR and print its path")
    build.add_argument("dir", type=Path)
    serve = sub.add_parser("serve", help="serve DIR on http://127.0.0.1 until interrupted")
    serve.add_argument("dir", type=Path)
    synth = sub.add_parser("synthetic", help="build a synthetic benchmark channel")
    synth.add_argument("dir", type=Path)
    synth.add_argument("n", type=int, help="number of packages")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--min-files", type=int, default=20)
    synth.add_argument("--max-files", type=int, default=200)
    return parser


def _build(dest: Path) -> int:
    """Build into a sibling temp folder and rename it into place: never a half channel."""
    import shutil
    import sys as _sys
    import tempfile

    from mambaboot.devchannel.pythonpkg import PythonPackagingError, find_patchelf

    dest = dest.absolute()
    if dest.exists() and not (dest / "noarch" / "repodata.json").is_file() and (
            not dest.is_dir() or any(dest.iterdir())):
        print(f"{dest} exists and is not a channel built by this command; choose another "
              "folder or remove it first.", file=sys.stderr)
        return 2
    try:
        if _sys.platform.startswith("linux"):
            find_patchelf()  # fail before anything is written
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.building-", dir=dest.parent))
    except (PythonPackagingError, OSError) as exc:
        print(str(exc) if isinstance(exc, PythonPackagingError) else
              f"Cannot write the demo channel next to {dest} ({exc.strerror}); choose a "
              "writable folder.", file=sys.stderr)
        return 1
    try:
        # wheels repackaged for the real conda are kept beside the channel (not in HOME),
        # so a rebuild needs no download: ".NAME-wheels" next to NAME
        build_demo_channel(tmp, wheel_cache=dest.parent / f".{dest.name}-wheels")
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
    except PythonPackagingError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(dest)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "build":
        return _build(args.dir)
    if args.command == "synthetic":
        path = build_synthetic_channel(
            args.dir, args.n, (args.min_files, args.max_files), seed=args.seed
        )
        print(path.resolve())
    else:
        if not args.dir.is_dir():
            print(f"not a directory: {args.dir}", file=sys.stderr)
            return 2
        with ChannelServer(args.dir) as server:
            try:  # the URL printed inside: a Ctrl-C right after it is still a clean stop
                print(server.url, flush=True)
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    return 0


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # py-rattler's runtime threads can abort interpreter finalisation ("PyGILState_Release
    # ... finalizing", about 1 build in 6 here): the work is done and flushed, skip it.
    import os

    os._exit(status)
