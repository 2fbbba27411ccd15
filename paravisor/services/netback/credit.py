"""xl's `rate=` for a vif: a credit of bytes per interval of virtual time.

As in Linux's netback: the credit is refilled to `bytes_per_interval` (not accumulated)
once an interval has passed since the last refill; a packet is sent only if the credit
covers it, else the vif's tx ring waits for the next refill.  A packet larger than a
whole interval's credit passes when the credit is full, so no packet waits forever.
"""

from __future__ import annotations

NS_PER_US = 1000


class TxCredit:
    """The sending credit of one vif (the owner holds the clock)."""

    def __init__(self, bytes_per_interval: int, interval_us: int, now: int) -> None:
        self.full = bytes_per_interval
        self.interval_ns = interval_us * NS_PER_US
        self.remaining = bytes_per_interval
        self.refilled_at = now

    @property
    def next_refill(self) -> int:
        """Virtual ns of the next refill."""
        return self.refilled_at + self.interval_ns

    def take(self, size: int, now: int) -> bool:
        """Spend `size` bytes if the credit (refilled first if due) covers them."""
        if now >= self.next_refill:
            self.remaining, self.refilled_at = self.full, now
        if size <= self.remaining or self.remaining == self.full:
            self.remaining = max(0, self.remaining - size)
            return True
        return False


def parse_rate_node(text: str) -> tuple[int, int] | None:
    """The backend's `rate` node, "<bytes per interval>,<interval us>" (as the toolstack
    writes it), or None when it is not two positive integers."""
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        return None
    per_interval, interval_us = (int(p) for p in parts)
    return (per_interval, interval_us) if per_interval > 0 and interval_us > 0 else None
