"""``activate.fish``: sourced by fish; finds itself via ``status dirname``."""

from __future__ import annotations

from mambaboot.activation.env_delta import Activation
from mambaboot.activation.quoting import fish_quote
from mambaboot.activation.via_template import Activator


class FishActivator(Activator):
    folder = "fish"
    templates = ("activate.fish",)

    def quote(self, text: str) -> str:
        return fish_quote(text)

    def prefix_ref(self) -> str:
        return '"$_mb_prefix"'

    def set_var(self, name: str, value: str) -> str:
        return f"set -gx {name} {self.value(value)}"

    def unset_var(self, name: str) -> str:
        return f"    set -e -g {name}"

    def replacements(self, activation: Activation) -> dict[str, str]:
        # One fish list element per entry: fish's PATH is a list, not a ':' string.
        entries = " ".join(self.value(self.entry(rel)) for rel in self.path_entries(activation))
        return {**super().replacements(activation), "__MB_PATH__": entries}
