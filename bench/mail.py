"""What the SMTP sink received, per recipient, read cheaply enough to poll every few ms."""

from __future__ import annotations

import os
import time
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from pathlib import Path

# How often the directory is looked at, at most (well under the latencies measured).
LOOK_EVERY = 0.004
# A directory changed this recently (ns) is listed again even if its time did not move.
RESCAN_RECENT_NS = 100_000_000


class MailWatcher:
    """Counts the messages the sink stored per recipient, reading only new files' headers.

    It looks into the directory only when the directory changed: the samples poll every few
    milliseconds, and listing thousands of stored messages each time kept a core of this
    two-core machine busy during the real samples only, slowing the very effect it timed.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.seen: set[str] = set()
        self.count: dict[str, int] = {}
        self._parser = BytesHeaderParser()
        self._scanned_mtime = -1
        self._looked_at = 0.0

    def refresh(self) -> None:
        """Reads the headers of messages stored since the last call. Many waiters share
        one watcher: the directory is looked at once per ``LOOK_EVERY`` however many ask."""
        now = time.perf_counter()
        if now - self._looked_at < LOOK_EVERY:
            return
        self._looked_at = now
        try:
            mtime = os.stat(self.directory).st_mtime_ns
        except FileNotFoundError:
            return
        # File times tick coarsely (a few ms): a change in the same tick as the last scan
        # leaves the time unchanged, so a recently changed directory is listed again.
        if mtime == self._scanned_mtime and time.time_ns() - mtime > RESCAN_RECENT_NS:
            return
        self._scanned_mtime = mtime
        with os.scandir(self.directory) as entries:
            for entry in entries:
                if not entry.name.endswith(".eml") or entry.name in self.seen:
                    continue
                self.seen.add(entry.name)
                with open(entry.path, "rb") as f:
                    headers = self._parser.parse(f)
                for _, addr in getaddresses(headers.get_all("To", [])):
                    self.count[addr.lower()] = self.count.get(addr.lower(), 0) + 1
