"""`SeenIds`: the ids a file source has read already, in 32 to 64 bytes each.

A Python set of the id texts costs several times more an id (the str object and the set's slot;
figures in docs/benchmark.md), so a backfill file of millions of distinct ids held most of a
pod's memory just to drop repeats. Here each id is kept as its 16-byte BLAKE2b digest in one
open-addressing table (linear probing, at most half full): two million ids take 64 MB (96 MB
for a moment while the table doubles). Two different ids share a digest with odds of about
n² / 2¹²⁹ (~10⁻²⁶ for two million): for this purpose the set is exact.
"""

from __future__ import annotations

from hashlib import blake2b

__all__ = ["SeenIds"]

_WIDTH = 16
_EMPTY = bytes(_WIDTH)
_NOT_EMPTY = b"\x01" * _WIDTH


class SeenIds:
    """Remembers up to `limit` ids; past that, `add` still finds the ids remembered, and
    reports every other id as new without keeping it."""

    def __init__(self, limit: int, *, capacity: int = 1024) -> None:
        if capacity < 2 or capacity & (capacity - 1):
            raise ValueError("capacity must be a power of two, at least 2")
        self.limit = limit
        self._table = bytearray(capacity * _WIDTH)
        self._mask = capacity - 1
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        """The table's size in bytes."""
        return len(self._table)

    def add(self, id: str) -> bool:
        """Whether `id` is new (then it is remembered, while fewer than `limit` are)."""
        digest = blake2b(id.encode("utf-8", "surrogatepass"), digest_size=_WIDTH).digest()
        if digest == _EMPTY:  # the empty slot's mark: any other fixed value serves as well
            digest = _NOT_EMPTY
        at = self._slot(digest)
        if self._table.startswith(digest, at):
            return False
        if self._count < self.limit:
            self._table[at : at + _WIDTH] = digest
            self._count += 1
            if self._count * 2 > self._mask + 1:
                self._grow()
        return True

    def _slot(self, digest: bytes) -> int:
        """The offset of the slot holding `digest`, or else of the empty slot where it goes."""
        table, mask = self._table, self._mask
        slot = int.from_bytes(digest[:8], "little") & mask
        while not (table.startswith(_EMPTY, slot * _WIDTH) or table.startswith(digest, slot * _WIDTH)):
            slot = (slot + 1) & mask  # linear probing
        return slot * _WIDTH

    def _grow(self) -> None:
        """Twice the slots, every digest put again (a table is at most half full)."""
        old = self._table
        self._table = bytearray(len(old) * 2)
        self._mask = self._mask * 2 + 1
        for start in range(0, len(old), _WIDTH):
            if not old.startswith(_EMPTY, start):
                digest = bytes(old[start : start + _WIDTH])
                at = self._slot(digest)
                self._table[at : at + _WIDTH] = digest
