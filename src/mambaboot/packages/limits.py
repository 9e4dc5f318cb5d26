"""How big one package may unpack: the decompression-bomb and member-flood limits.

Checked twice on a cold unpack: while the engine unpacks (``packages.unpack``
watches the staging folder and stops the unpacker past the budget, so a bomb
never fills the disk) and on the finished tree (``rules.check_extracted``
counts every byte and member exactly).
"""

from __future__ import annotations

from dataclasses import dataclass

GIB = 1 << 30
MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """How big one package may unpack. Defaults are far above real packages
    (conda-forge's largest unpack to a few GiB with under 100k files).

    A package may unpack to ``max_unpacked`` bytes at most, and, once past
    ``ratio_floor``, to at most ``max_ratio`` times its archive's size (real
    archives compress 2-20x; bombs 1000x and more). ``max_ratio = 0`` turns
    the ratio rule off (``--max-unpacked`` given explicitly does that).
    """

    max_unpacked: int = 32 * GIB
    max_members: int = 500_000
    max_ratio: int = 200
    ratio_floor: int = 512 * MIB

    def budget(self, archive_size: int) -> int:
        """Bytes an archive of ``archive_size`` bytes may unpack to."""
        if not self.max_ratio:
            return self.max_unpacked
        return min(self.max_unpacked, max(self.ratio_floor, self.max_ratio * archive_size))


def size_text(n: int) -> str:
    """``16 MiB``, ``64 KiB``, ``2 GiB``: whole units, as the limits are usually given."""
    for unit, scale in (("GiB", GIB), ("MiB", MIB), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} bytes"


def parse_size(text: str) -> int:
    """``'64G'`` -> bytes; raises ValueError for anything else."""
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = {"K": 1 << 10, "M": MIB, "G": GIB, "T": 1 << 40}.get(text[-1:], 1)
    number = float(text[:-1] if text[-1:] in "KMGT" else text)
    if number <= 0:
        raise ValueError(text)
    return int(number * scale)


def make_limits(max_unpacked: str | None, max_members: str | int | None) -> Limits:
    """Limits from user text; an explicit unpacked size replaces the ratio rule."""
    base = Limits()
    unpacked = parse_size(max_unpacked) if max_unpacked else base.max_unpacked
    members = int(max_members) if max_members else base.max_members
    if members <= 0:
        raise ValueError(str(max_members))
    return Limits(unpacked, members, 0 if max_unpacked else base.max_ratio, base.ratio_floor)
