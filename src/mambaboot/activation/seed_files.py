"""The seed script's extras: ``--template`` folders and relocatable condabin batch files.

The original batch bootstrapper copied ``__shortcut__``, ``__home__`` and
``__AppData__`` into each new environment; ``--template DIR`` does the same,
but never replaces a file the engine installed (a template must not be able to
swap out ``python.exe``).

micromamba and mamba write the absolute prefix into ``condabin\\mamba.bat``,
``mamba_hook.bat`` and ``conda.bat``; after a move those files point at the old
place. The prefix is rewritten to ``%~dp0..`` (condabin's parent, computed by
cmd.exe each time), keeping a ``.bak`` of the original.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from pathlib import Path

CONDABIN_FILES = ("mamba.bat", "mamba_hook.bat", "conda.bat")
RELATIVE_PREFIX = b"%~dp0.."


def copy_templates(prefix: Path, templates: Sequence[Path]) -> list[Path]:
    """Copy each template dir to ``prefix/<its name>``; return the files *not* copied.

    Existing files (installed by the engine, or by an earlier template) win.
    """
    skipped: list[Path] = []
    for template in templates:
        target_root = prefix / template.name
        for source in sorted(template.rglob("*")):
            target = target_root / source.relative_to(template)
            if source.is_dir() and not source.is_symlink():
                target.mkdir(parents=True, exist_ok=True)
            elif target.exists() or target.is_symlink():
                skipped.append(target)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target, follow_symlinks=False)
    return skipped


def _prefix_pattern(prefix_text: str) -> re.Pattern[bytes]:
    """The prefix as written by Windows tools: any case, either slash, no trailing slash."""
    text = prefix_text.rstrip("\\/")
    pieces = [re.escape(p.encode("utf-8")) for p in re.split(r"[\\/]", text)]
    return re.compile(rb"[\\/]".join(pieces) + rb"(?![^\\/\"\r\n%;])", re.IGNORECASE)


def relocate_condabin(prefix: Path, prefix_text: str | None = None) -> list[Path]:
    """Rewrite the absolute prefix in condabin batch files; return the files changed.

    ``prefix_text`` is the prefix as it appears in the files (default: the
    prefix itself); tests pass a Windows-style path.
    """
    pattern = _prefix_pattern(prefix_text or str(prefix))
    changed = []
    for name in CONDABIN_FILES:
        path = prefix / "condabin" / name
        if not path.is_file() or path.is_symlink():
            continue
        data = path.read_bytes()
        new = pattern.sub(lambda _m: RELATIVE_PREFIX, data)
        if new == data:
            continue
        backup = path.with_name(path.name + ".bak")
        if not backup.exists():
            shutil.copy2(path, backup)
        path.write_bytes(new)
        changed.append(path)
    return changed
