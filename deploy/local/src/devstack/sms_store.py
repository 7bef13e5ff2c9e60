"""The SMS sink's messages (:mod:`devstack.sms_sink`): at most :data:`MAX_MESSAGES`, the oldest
going first, each idempotency key answered with the message it first came with, and with a
store file appended one JSON line per message, read again at start and rewritten before it
outgrows twice the cap."""

from __future__ import annotations

import collections
import json
import os
import re
import threading
from pathlib import Path

MAX_MESSAGES = 10_000


def _digits(number: str) -> str:
    return re.sub(r"\D", "", number)


class MessageStore:
    """The received messages (at most ``limit``), optionally persisted as JSON lines."""

    def __init__(self, path: Path | None = None, limit: int = MAX_MESSAGES) -> None:
        self.path = path
        self.limit = limit
        self._messages: collections.deque[dict] = collections.deque(maxlen=limit)
        self._lock = threading.Lock()
        self._file_lines = 0
        self._keys: dict[str, dict] = {}  # Idempotency-Key -> the message it was first sent with
        if path is not None:
            self._load(path)

    def _load(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:  # e.g. a line cut short when the sink was killed
                continue
            if isinstance(record, dict) and "sid" in record:
                self._messages.append(record)
                if record.get("idempotency_key"):
                    self._keys[record["idempotency_key"]] = record
        self._file_lines = len(lines)

    def add(self, record: dict) -> dict:
        """Keep ``record``; answers it, or the message kept before with its idempotency key."""
        with self._lock:
            key = record.get("idempotency_key")
            if key and key in self._keys:
                return self._keys[key]
            if key:
                if len(self._keys) >= self.limit:  # as bounded as the messages
                    del self._keys[next(iter(self._keys))]
                self._keys[key] = record
            self._messages.append(record)
            if self.path is None:
                return record
            if self._file_lines >= 2 * self.limit:
                self._rewrite()  # keeps the file from outgrowing the cap for good
            else:
                with open(self.path, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(record, ensure_ascii=False) + "\n")
                self._file_lines += 1
        return record

    def _rewrite(self) -> None:
        assert self.path is not None
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            for record in self._messages:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        os.replace(tmp, self.path)
        self._file_lines = len(self._messages)

    def list(self, to: str | None = None) -> list[dict]:
        """Oldest first; ``to`` keeps the messages to that number (compared by its digits, so
        an unescaped ``?to=+1555...``, whose ``+`` arrives as a space, matches too)."""
        with self._lock:
            messages = list(self._messages)
        if to is None:
            return messages
        wanted = _digits(to)
        if not wanted:
            return [m for m in messages if m.get("to") == to]
        return [m for m in messages if _digits(m.get("to") or "") == wanted]

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
            self._keys.clear()
            if self.path is not None:
                self.path.write_text("", encoding="utf-8")
                self._file_lines = 0
