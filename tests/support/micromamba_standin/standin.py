#!@PYTHON@
"""TEST STAND-IN for micromamba, written by tests/support/micromamba_standin: not the real program.

A real micromamba cannot be downloaded on the machines that run this suite, so
this script is placed where the binary goes. It records each call (argv,
environment, cwd) to ``standin-calls.jsonl`` next to itself, behaves like
micromamba 2.x for what mambaboot relies on (argument checks, refusing an
existing non-conda folder, registering the env in ~/.conda/environments.txt)
and creates the prefix from the test channel with py-rattler.
"""

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FLAGS = {"--yes", "-y", "--override-channels", "--no-rc", "--offline", "--dry-run", "--json",
         "--no-pyc"}
VALUED = {"--prefix": "prefix", "-p": "prefix", "--root-prefix": "root_prefix",
          "-r": "root_prefix", "-c": "channels", "--channel": "channels"}


def record() -> None:
    entry = {"argv": sys.argv, "env": dict(os.environ), "cwd": os.getcwd()}
    with (HERE / "standin-calls.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


def fail(message: str, code: int = 1) -> int:
    print(f"critical libmamba {message}", file=sys.stderr, flush=True)
    return code


def parse(args: list[str]) -> dict:
    opts: dict = {"flags": set(), "channels": [], "specs": []}
    it = iter(args)
    for arg in it:
        if arg in FLAGS:
            opts["flags"].add(arg)
        elif arg in VALUED:
            value = next(it)
            if VALUED[arg] == "channels":
                opts["channels"].append(value)
            else:
                opts[VALUED[arg]] = value
        elif arg.startswith("-"):
            raise SystemExit(fail(f"The following argument was not expected: {arg}", 109))
        else:
            opts["specs"].append(arg)
    return opts


async def create(opts: dict) -> None:
    import rattler

    pkgs = os.environ["CONDA_PKGS_DIRS"].split(",")[0]
    action = "force-cache-only" if "--offline" in opts["flags"] else "cache-or-fetch"
    gateway = rattler.Gateway(cache_dir=os.path.join(pkgs, "cache"),
                              default_config=rattler.SourceConfig(cache_action=action))
    if "--json" not in opts["flags"]:
        print("Solving environment", flush=True)
    records = await rattler.solve(sources=opts["channels"], specs=opts["specs"], gateway=gateway,
                                  virtual_packages=rattler.VirtualPackage.detect(),
                                  channel_relations="disabled")
    if "--dry-run" in opts["flags"]:  # micromamba's plan: the LINK records, nothing written
        links = [json.loads(r.to_json()) for r in records]
        print(json.dumps({"actions": {"LINK": links, "PREFIX": opts["prefix"]},
                          "dry_run": True, "prefix": opts["prefix"], "success": True}),
              flush=True)
        return
    print("\nTransaction\n\n  Prefix: " + opts["prefix"] + "\n", flush=True)
    for r in records:
        print(f"Linking {r.name.normalized}-{r.version}-{r.build}", flush=True)
    await rattler.install(records, target_prefix=opts["prefix"], cache_dir=pkgs,
                          show_progress=False, execute_link_scripts=True)
    print("\nTransaction finished", flush=True)


def main() -> int:  # noqa: PLR0911 - one exit per refusal, like the real tool
    record()
    args = sys.argv[1:]
    if args[:1] in (["--version"], ["-V"]):
        print("2.0.5 (mambaboot test stand-in)")
        return 0
    if args[:1] != ["create"]:
        return fail(f"stand-in: only 'create' is expected from mambaboot, got {args[:2]}", 2)
    opts = parse(args[1:])
    if not opts.get("prefix") or not opts["channels"] or not opts["specs"] or not (
            {"--yes", "-y"} & opts["flags"]):
        return fail("stand-in needs --yes, --prefix, -c and specs (it cannot prompt).", 2)
    prefix = Path(opts["prefix"])
    dry = "--dry-run" in opts["flags"]
    if not dry and prefix.exists() and not (prefix / "conda-meta").is_dir():
        return fail("Non-conda folder exists at prefix - aborting.")  # micromamba 2.0
    if not dry:
        shutil.rmtree(prefix, ignore_errors=True)  # "Found conda-prefix. Overwrite?" + --yes
    try:
        asyncio.run(create(opts))
    except Exception as exc:
        if not dry:
            shutil.rmtree(prefix, ignore_errors=True)
        if "--json" in opts["flags"]:
            print(json.dumps({"success": False, "solver_problems": [str(exc)]}), flush=True)
        return fail(f"Could not solve for environment specs\n{exc}")
    if dry:
        return 0
    home = Path(os.environ.get("USERPROFILE" if os.name == "nt" else "HOME", "~")).expanduser()
    envs_txt = home / ".conda" / "environments.txt"  # what conda-family tools really do
    envs_txt.parent.mkdir(parents=True, exist_ok=True)
    with envs_txt.open("a", encoding="utf-8") as f:
        f.write(str(prefix) + "\n")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # py-rattler's runtime threads can abort interpreter finalisation ("PyGILState_Release
    # ... finalizing"); the work is done and flushed, so skip finalisation.
    os._exit(code)
