"""``activate.ps1``: dot-sourced by PowerShell; finds itself via ``$PSScriptRoot``.

PowerShell cannot be installed on the machines that test this project, so
this script is checked by structure only (see docs/activation.md).
"""

from __future__ import annotations

from mambaboot.activation.env_delta import Activation
from mambaboot.activation.via_template import Activator, split_token, windows_entries
from mambaboot.prefix import bin_dirs

#: PowerShell also treats the typographic quotes as single quotes.
_SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"


class PowerShellActivator(Activator):
    folder = "powershell"
    templates = ("activate.ps1",)
    bom = True

    def quote(self, text: str) -> str:
        for q in _SINGLE_QUOTES:
            text = text.replace(q, q + q)
        return "'" + text + "'"

    def prefix_ref(self) -> str:
        return "$MambabootPrefix"

    def value(self, value: str) -> str:
        parts = split_token(value)
        if not parts:
            return "''"
        return "(" + " + ".join(self.prefix_ref() if p is None else self.quote(p)
                                for p in parts) + ")"

    def set_var(self, name: str, value: str) -> str:
        return f"${{Env:{name}}} = {self.value(value)}"

    def unset_var(self, name: str) -> str:
        return f"    Remove-Item -LiteralPath Env:{name} -ErrorAction SilentlyContinue"

    def _entries(self, rels: list[str], sep: str) -> str:
        return ", ".join(self.value(self.entry(rel, sep=sep)) for rel in rels)

    def replacements(self, activation: Activation) -> dict[str, str]:
        return {**super().replacements(activation),
                "__MB_PATH_POSIX__": self._entries(list(bin_dirs(windows=False)), "/"),
                "__MB_PATH__": self._entries(windows_entries(), "\\")}
