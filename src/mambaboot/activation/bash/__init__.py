"""``activate.sh``: sourced by bash or zsh; finds itself via BASH_SOURCE / ``%x``."""

from __future__ import annotations

from mambaboot.activation.env_delta import Activation
from mambaboot.activation.quoting import sh_quote
from mambaboot.activation.via_template import Activator


class BashActivator(Activator):
    folder = "bash"
    templates = ("activate.sh",)

    def quote(self, text: str) -> str:
        return sh_quote(text)

    def prefix_ref(self) -> str:
        return '"$_mb_prefix"'

    def set_var(self, name: str, value: str) -> str:
        return f"{name}={self.value(value)}\nexport {name}"

    def unset_var(self, name: str) -> str:
        return f"    unset {name}"

    def replacements(self, activation: Activation) -> dict[str, str]:
        entries = ":".join(self.entry(rel) for rel in self.path_entries(activation))
        return {**super().replacements(activation), "__MB_PATH__": self.value(entries)}

