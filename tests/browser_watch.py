"""What the test browser did, for a failed browser test's report: each open page's state (address, visibility, its
`data-ready`, its players' state, the errors it shows), the requests still unanswered, and the last requests,
console messages and script errors, with their times. CI keeps no trace, so a flaky page must explain itself."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

# read from each open page; a page whose script is stuck does not answer within the wait, and says so
PAGE_STATE = """() => ({
  ready: document.body ? (document.body.dataset.ready || "") : "(no body)",
  visibility: document.visibilityState,
  players: [...document.querySelectorAll("video, audio")].map((m) => ({
    src: m.currentSrc, readyState: m.readyState, networkState: m.networkState,
    error: m.error ? `${m.error.code} ${m.error.message}` : null})),
  shown_errors: [...document.querySelectorAll(".error")].map((e) => e.textContent.trim()).filter(Boolean).slice(0, 6),
})"""


class BrowserWatch:
    """Events of every context made by one browser (its ``new_context`` wrapped), kept for the report."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.events: deque[str] = deque(maxlen=120)
        self.pending: dict[int, tuple[float, str]] = {}

    def _note(self, text: str) -> None:
        self.events.append(f"{time.monotonic() - self.started:8.2f}s {text}")

    def watch(self, context: Any) -> Any:
        def request(req: Any) -> None:
            self.pending[id(req)] = (time.monotonic(), f"{req.method} {req.url}")

        def finished(req: Any, outcome: str) -> None:
            began, what = self.pending.pop(id(req), (time.monotonic(), f"{req.method} {req.url}"))
            took = time.monotonic() - began
            if outcome != "ok" or took > 1.0:  # the slow and the failed; not every asset fetch
                self._note(f"{what} {outcome} after {took:.2f}s")

        context.on("request", request)
        context.on("requestfinished", lambda req: finished(req, "ok"))
        context.on("requestfailed", lambda req: finished(req, f"failed ({req.failure})"))
        context.on("response", lambda res: res.status >= 400 and self._note(f"{res.status} {res.url}"))
        context.on("console", lambda msg: msg.type in ("error", "warning") and self._note(f"console {msg.type}: "
                                                                                          f"{msg.text[:300]}"))
        context.on("weberror", lambda err: self._note(f"script error: {err.error}"))
        context.on("page", lambda page: self._note(f"new page {page.url}"))
        return context

    def report(self, browser: Any) -> str:
        lines = []
        for number, context in enumerate(browser.contexts):
            for page in context.pages:
                try:
                    state = page.wait_for_function(PAGE_STATE, timeout=3000).json_value()
                except Exception as exc:  # noqa: BLE001 - a stuck or closed page is itself the finding
                    state = f"did not answer: {str(exc).splitlines()[0]}"
                lines.append(f"context {number} page {page.url}: {state}")
        now = time.monotonic()
        lines += [f"unanswered for {now - began:.1f}s: {what}" for began, what in self.pending.values()]
        lines.append("last events (slow or failed requests, errors):")
        lines += list(self.events) or ["(none)"]
        return "\n".join(lines)


def watched(browser: Any) -> Any:
    """``browser`` whose new contexts report to a :class:`BrowserWatch` (``browser.watch``)."""
    watch = BrowserWatch()
    new_context = browser.new_context
    browser.new_context = lambda **options: watch.watch(new_context(**options))
    browser.watch = watch
    return browser
