"""The chaos run's load (client threads posting referrals, each retried until accepted) and what
every step of the run shares: its time limits and ``until`` (see ``chaos.py``)."""

from __future__ import annotations

import collections
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests

#: Everything must have arrived this long after the last kill (the issue's target).
ARRIVAL_LIMIT_S = 120.0
#: Inbox items and emails are counted again this long after everything arrived, so that a
#: late duplicate (a redelivery after the last restart) is counted too.
SETTLE_S = 15.0
RETRY_PAUSE_S = 0.5


# -- the load ------------------------------------------------------------------------------------
@dataclass
class Load:
    """Client threads posting referrals to intake, each retried until accepted: at least
    ``total``, and on until ``finish`` is set (so that every kill happens under load)."""

    url: str
    headers: dict[str, str]
    site_id: str
    total: int
    threads: int
    rate: float  # referrals per second, all threads together (a backlog goes out at once)
    give_up_at: float  # monotonic: stop retrying after this
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    accepted: dict[int, str] = field(default_factory=dict)  # request number -> referral id
    refused: dict[int, str] = field(default_factory=dict)  # request number -> status and text
    retries: int = 0
    failures: collections.Counter = field(default_factory=collections.Counter)
    _next: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: list[threading.Thread] = field(default_factory=list)
    _started: float = 0.0
    finish: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self._started = time.monotonic()
        for n in range(self.threads):
            thread = threading.Thread(target=self._work, name=f"load-{n}", daemon=True)
            thread.start()
            self._workers.append(thread)

    def join(self) -> None:
        for thread in self._workers:
            thread.join()

    @property
    def settled(self) -> int:
        """Referrals answered for good (accepted or refused); once joined, all that were sent."""
        with self._lock:
            return len(self.accepted) + len(self.refused)

    def _work(self) -> None:
        session = requests.Session()
        while True:
            with self._lock:
                n, self._next = self._next, self._next + 1
            if n >= self.total and self.finish.is_set():
                return
            # Paced, so that the load lasts through every kill (the schedule, not a wait).
            time.sleep(max(0.0, self._started + n / self.rate - time.monotonic()))
            self._send(session, n)

    def _send(self, session: requests.Session, n: int) -> None:
        body = {
            "site_id": self.site_id,
            "program": "adult",
            "source": "chaos",
            "consent_to_contact": True,
            "client": {
                "given_name": "Chaos",
                "family_name": f"Client{n}",
                "date_of_birth": "1990-01-01",
                "email": f"c{n}@example.org",
                "phone": "+1 312 555 0100",
            },
        }
        headers = {**self.headers, "Idempotency-Key": f"chaos-{self.run_id}-{n}"}
        while time.monotonic() < self.give_up_at:
            try:
                response = session.post(self.url, json=body, headers=headers, timeout=15)
            except requests.RequestException as exc:  # the api (or its host) is down
                self._failed(type(exc).__name__)
                continue
            if response.status_code == 201:
                with self._lock:
                    self.accepted[n] = response.json()["id"]
                return
            if response.status_code >= 500 or response.status_code == 429:
                self._failed(str(response.status_code))
                continue
            with self._lock:
                self.refused[n] = f"{response.status_code} {response.text[:200]}"
            return
        with self._lock:
            self.refused[n] = "not accepted before the load's time limit"

    def _failed(self, why: str) -> None:
        with self._lock:
            self.retries += 1
            self.failures[why] += 1
        time.sleep(RETRY_PAUSE_S)


def until(check, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except Exception:  # the database may be away for a moment
            pass
        time.sleep(0.5)
    return False
