"""``activate.bat``/``deactivate.bat`` for cmd.exe; they find the prefix via ``%~dp0``.

cmd.exe has no quoting that makes everything literal, so a literal is written
unquoted with every special character escaped by ``^`` and ``%`` doubled. A
value that contains the prefix is set inside ``FOR %%I IN ("%_MB_PREFIX%")``:
FOR variables are substituted after cmd has parsed ``& | < > ( )``, so a prefix
such as ``C:\\R&D (x86)`` cannot break the line.
"""

from __future__ import annotations

from mambaboot.activation.env_delta import Activation
from mambaboot.activation.via_template import Activator, split_token, windows_entries

_SPECIAL = set('^&|<>()"!')
_FOR_LETTERS = "IJKLMNOPQRSTUVWXYZ"


class BatchActivator(Activator):
    folder = "batch"
    templates = ("activate.bat", "deactivate.bat")
    newline = "\r\n"

    def quote(self, text: str) -> str:
        if "\n" in text or "\r" in text:
            raise ValueError(f"cmd.exe cannot hold a line break in a variable: {text!r}")
        return "".join("%%" if c == "%" else f"^{c}" if c in _SPECIAL else c for c in text)

    def prefix_ref(self) -> str:
        return "%%~I"

    @staticmethod
    def _letter(preferred: str, literal: str) -> str:
        """A FOR loop letter that does not occur in the literal (so ``%X`` cannot match it)."""
        return next(c for c in preferred + _FOR_LETTERS if c.lower() not in literal.lower())

    def _with_prefix(self, name: str, value: str) -> str:
        parts = split_token(value)
        literal = "".join(p for p in parts if p is not None)
        letter = self._letter("I", literal)
        body = "".join(f"%%~{letter}" if p is None else self.quote(p) for p in parts)
        return f'@FOR %%{letter} IN ("%_MB_PREFIX%") DO @SET {name}={body}'

    def set_var(self, name: str, value: str) -> str:
        if None in split_token(value):
            return self._with_prefix(name, value)
        return f"@SET {name}={self.quote(value)}"

    def unset_var(self, name: str) -> str:
        return f'@SET "{name}="'

    def replacements(self, activation: Activation) -> dict[str, str]:
        entries = ";".join(
            "%_MB_PREFIX%" + ("\\" + rel.replace("/", "\\") if rel else "")
            for rel in windows_entries())
        # In PROMPT, $ starts a code ($P, $G): a literal $ is $$.
        modifier = activation.variables.get("CONDA_PROMPT_MODIFIER", f"({activation.name}) ")
        literal = modifier.replace("$", "$$")
        letter = self._letter("P", literal)
        prompt = (f'FOR %%{letter} IN ("%PROMPT%") DO '
                  f"@SET PROMPT={self.quote(literal)}%%~{letter}")
        return {**super().replacements(activation), "__MB_PATH__": entries,
                "__MB_SET_PROMPT__": prompt}
