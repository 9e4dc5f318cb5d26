"""Shared machinery of the portable activation scripts (virtualenv's design).

Each shell has a template file next to a tiny ``Activator`` subclass. The
subclass knows only how its shell quotes a literal, how it refers to the
prefix the script computed from its own location, and how it sets and unsets
a variable; everything else is the template. Values are split at the prefix
token, so no absolute path is ever written, and every literal piece goes
through the shell's ``quote`` so that ``"``, ``\\``, backticks, ``$(...)``,
``%`` and ``!`` stay literal. Files are written as bytes, exactly: CRLF for
cmd.exe, a UTF-8 BOM for PowerShell (Windows PowerShell 5 reads BOM-less
scripts in the ANSI code page).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from mambaboot.activation.env_delta import PREFIX_TOKEN, Activation
from mambaboot.fsutil import write_atomic
from mambaboot.prefix import bin_dirs

HERE = Path(__file__).parent
UTF8_BOM = b"\xef\xbb\xbf"


def split_token(value: str) -> list[str | None]:
    """``"a@T@b"`` -> ``["a", None, "b"]``: None marks where the prefix goes."""
    parts: list[str | None] = []
    for i, piece in enumerate(value.split(PREFIX_TOKEN)):
        if i:
            parts.append(None)
        if piece:
            parts.append(piece)
    return parts


class Activator(ABC):
    """One shell: templates in ``HERE/<folder>``, rendered with shell-correct quoting."""

    folder: str
    templates: tuple[str, ...]
    newline = "\n"
    bom = False

    # --- what each shell must say -----------------------------------------
    @abstractmethod
    def quote(self, text: str) -> str:
        """``text`` as a literal in this shell: nothing in it may be expanded."""

    @abstractmethod
    def prefix_ref(self) -> str:
        """The expression that yields the prefix (computed by the script at run time)."""

    @abstractmethod
    def set_var(self, name: str, value: str) -> str:
        """A line that exports ``name``; ``value`` may contain the prefix token."""

    @abstractmethod
    def unset_var(self, name: str) -> str:
        """A line that removes ``name`` from the environment."""

    # --- shared -----------------------------------------------------------
    def value(self, value: str) -> str:
        """A value as one shell word: quoted literals joined with prefix references."""
        parts = split_token(value)
        if not parts:
            return self.quote("")
        return "".join(self.prefix_ref() if p is None else self.quote(p) for p in parts)

    def path_entries(self, activation: Activation) -> list[str]:
        """Prefix-relative PATH entries for this shell (the host's layout by default)."""
        return list(activation.path)

    def entry(self, rel: str, sep: str = "/") -> str:
        return PREFIX_TOKEN + (sep + rel.replace("/", sep) if rel else "")

    def replacements(self, activation: Activation) -> dict[str, str]:
        names = sorted(activation.variables)
        return {
            "__MB_SET_VARS__": self.newline.join(
                self.set_var(n, activation.variables[n]) for n in names),
            "__MB_UNSET_VARS__": self.newline.join(self.unset_var(n) for n in names),
            "__MB_NAME__": self.quote(activation.name),
        }

    def render(self, template: str, activation: Activation) -> str:
        text = (HERE / self.folder / template).read_text(encoding="utf-8")
        for key, replacement in self.replacements(activation).items():
            text = text.replace(key, replacement)
        return text

    def generate(self, prefix: Path, activation: Activation) -> list[Path]:
        """Write this shell's scripts into the prefix; return the paths written."""
        written = []
        for template in self.templates:
            text = self.render(template, activation)
            data = text.replace("\r\n", "\n").replace("\n", self.newline).encode("utf-8")
            target = prefix / template
            write_atomic(target, (UTF8_BOM if self.bom else b"") + data)
            written.append(target)
        return written


def windows_entries() -> list[str]:
    """cmd.exe and PowerShell scripts only ever run on Windows: always its layout."""
    return list(bin_dirs(windows=True))
