"""The console's calls to the four services, with the signed-in user's access token.

Each call has a timeout; a page that needs several makes them in parallel (``gather``). What a
service answers is turned into what a page can say: a problem+json 422 into messages by field
(``ServiceRefused.field_errors``, keyed by the field paths the services report, such as
``client.email``), a refusal into its detail, and a service that does not answer (connection
refused, timeout, 502/503/504) into ``ServiceUnavailable`` naming it and what happened. A
connection that breaks before any answer (a pooled connection the service had just closed, a
restarted process) is tried once more when the call is safe to repeat: a read, or a write with
an idempotency key. Nothing here knows a page.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from dbt_shared import correlation

#: The largest number of calls one page makes at once (and the pool shared by all pages).
POOL_SIZE = 8

#: Methods a broken connection may repeat without an idempotency key: they change nothing, or
#: the same thing again.
REPEATABLE = frozenset({"GET", "HEAD", "PUT", "DELETE"})

#: An id the console will put into a service's path: the ids the services hand out.
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._-]{0,199}$")


class ServiceUnavailable(Exception):
    """A service did not answer in time, or answered that it cannot serve now. ``cause`` says
    which (for the log: an exception class or a status, never a path or a body)."""

    def __init__(self, service: str, cause: str = "not configured") -> None:
        super().__init__(f"{service} unavailable ({cause})")
        self.service = service
        self.cause = cause


class ServiceRefused(Exception):
    """A service answered 4xx: its problem's detail and, for a 422, messages by field."""

    def __init__(self, service: str, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{service} answered {status}")
        self.service = service
        self.status = status
        self.problem = problem

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail") or self.problem.get("title") or "Refused.")

    @property
    def field_errors(self) -> dict[str, str]:
        """The first message for each field (``dbt_shared.problems.field_errors``' shape)."""
        found: dict[str, str] = {}
        for item in self.problem.get("errors") or []:
            if isinstance(item, dict) and item.get("field"):
                found.setdefault(str(item["field"]), str(item.get("message") or "Not valid."))
        return found


class SignedOut(Exception):
    """A service refused the token (401): the session no longer authenticates anyone."""


class CallCount:
    """The calls one page made to the services, and the time spent waiting on them (summed over
    calls, so parallel calls count each). Thread-safe: a page's parallel calls run on the pool's
    threads. A list page makes the same few calls whatever its rows (web.py reports the count)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self.waited_s = 0.0

    def add(self, seconds: float) -> None:
        with self._lock:
            self.calls += 1
            self.waited_s += seconds


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


#: (method, url, headers, params, json body, timeout) -> Answer; raises ConnectionError or
#: TimeoutError (or requests' own) when the service cannot be reached.
Transport = Callable[[str, str, dict[str, str], dict[str, Any] | None, Any, float], Answer]


class RequestsTransport:
    """The real transport: one pooled ``requests`` session per thread."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __call__(self, method, url, headers, params, body, timeout) -> Answer:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        response = session.request(
            method, url, headers=headers, params=params, json=body, timeout=timeout
        )
        try:
            parsed = response.json() if response.content else None
        except json.JSONDecodeError:
            parsed = None
        return Answer(response.status_code, dict(response.headers), parsed)


def segment(value: str) -> str:
    """An id for a service's path, refused (404) unless it looks like one the services give."""
    if not isinstance(value, str) or not _ID.match(value):
        raise ServiceRefused("console", 404, {"detail": "No such page."})
    return quote(value, safe=":")


class ServiceClient:
    def __init__(
        self,
        urls: dict[str, str],
        transport: Transport | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        self.urls = urls
        self.transport = transport or RequestsTransport()
        self.timeout_s = timeout_s
        self._pool = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="console-call")

    def as_user(
        self, access_token: str, request_id: str | None = None, count: CallCount | None = None
    ) -> UserCalls:
        return UserCalls(self, access_token, request_id, count)

    def call(
        self,
        service: str,
        method: str,
        path: str,
        token: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        idempotency_key: str | None = None,
        request_id: str | None = None,
        count: CallCount | None = None,
        repeatable: bool = False,
    ) -> Any:
        """``repeatable``: the call only reads, whatever its method (a POST look-up)."""
        base = self.urls.get(service)
        if not base:
            raise ServiceUnavailable(service)  # not configured: unavailable, and the page says so
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if request_id:  # the services log the console's request under the same id
            headers[correlation.REQUEST_ID_HEADER] = request_id
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        started = time.perf_counter()
        tries = 2 if repeatable or method in REPEATABLE or idempotency_key else 1
        try:
            for tried in range(1, tries + 1):
                try:
                    answer = self.transport(
                        method, base + path, headers, clean or None, body, self.timeout_s
                    )
                    break
                except (requests.Timeout, TimeoutError) as exc:  # slow: waiting again is worse
                    raise ServiceUnavailable(service, type(exc).__name__) from exc
                except (requests.RequestException, ConnectionError) as exc:
                    if tried == tries:
                        raise ServiceUnavailable(service, type(exc).__name__) from exc
        finally:
            if count is not None:
                count.add(time.perf_counter() - started)
        if answer.status == 401:
            raise SignedOut()
        if answer.status >= 500:
            raise ServiceUnavailable(service, f"answered {answer.status}")
        if answer.status >= 400:
            problem = answer.body if isinstance(answer.body, dict) else {}
            raise ServiceRefused(service, answer.status, problem)
        return answer.body

    def gather(self, calls: dict[str, Callable[[], Any]]) -> dict[str, Any]:
        """Run ``calls`` at once; their results by name. The first failure is raised after all
        have finished (a page shows one message, not a half-drawn page)."""
        futures = {name: self._pool.submit(fn) for name, fn in calls.items()}
        results: dict[str, Any] = {}
        failure: BaseException | None = None
        for name, future in futures.items():
            try:
                results[name] = future.result()
            except BaseException as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        return results


class UserCalls:
    """The client bound to one user's access token, with the verbs pages use."""

    def __init__(
        self,
        client: ServiceClient,
        token: str,
        request_id: str | None = None,
        count: CallCount | None = None,
    ) -> None:
        self.client = client
        self.token = token
        self.request_id = request_id
        self.count = count

    def get(self, service: str, path: str, **params: Any) -> Any:
        return self.client.call(
            service,
            "GET",
            path,
            self.token,
            params=params,
            request_id=self.request_id,
            count=self.count,
        )

    def post(
        self,
        service: str,
        path: str,
        body: Any = None,
        idempotency_key: str | None = None,
        repeatable: bool = False,
    ):
        return self.client.call(
            service,
            "POST",
            path,
            self.token,
            body=body,
            idempotency_key=idempotency_key,
            request_id=self.request_id,
            count=self.count,
            repeatable=repeatable,
        )

    def look_up(self, service: str, path: str, body: Any) -> Any:
        """A POST that only reads (names by id: the ids go in the body, never the URL), so it is
        as safe to repeat as a GET."""
        return self.post(service, path, body, repeatable=True)

    def put(self, service: str, path: str, body: Any) -> Any:
        return self.client.call(
            service,
            "PUT",
            path,
            self.token,
            body=body,
            request_id=self.request_id,
            count=self.count,
        )

    def patch(self, service: str, path: str, body: Any) -> Any:
        return self.client.call(
            service,
            "PATCH",
            path,
            self.token,
            body=body,
            request_id=self.request_id,
            count=self.count,
        )

    def delete(self, service: str, path: str) -> Any:
        return self.client.call(
            service, "DELETE", path, self.token, request_id=self.request_id, count=self.count
        )

    def gather(self, **calls: Callable[[], Any]) -> dict[str, Any]:
        return self.client.gather(calls)
