"""Browser sessions: a random id in an HttpOnly cookie, a CSRF token per session, and at
most one account unlocked per session, held in this process's memory only.

The server holds nothing unlocked until a person types their keystore password into the
unlock form, and only where the app serves loopback (`WebConfig.allow_unlock`). Locking,
or the session's idle timeout, drops the key. A question prepared for a browser wallet
waits in its session, unsigned, until the wallet's signatures come.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

import tessera

COOKIE = "tessera_session"
IDLE_S = 30 * 60  # an unlocked account is locked again after this long without a request
MAX_SESSIONS = 1000  # the oldest are dropped first: a flood of new cookies costs only memory
MAX_WALLET_ASKS = 4  # questions prepared for a wallet to sign, per session; the oldest go first
# Preparing a wallet's question probes nodes and asks one for a quote before anything is
# signed: bounded per session and for the whole app, so a loop of requests cannot keep the
# home's one worker busy.
PREPARES_PER_SESSION, PREPARES_PER_APP, PREPARE_WINDOW_S = 6, 30, 60.0
# Relaying a wallet's signed delegation spends the relayer's gas: bounded the same way.
RELAYS_PER_SESSION, RELAYS_PER_APP, RELAY_WINDOW_S = 4, 30, 60.0


@dataclass
class Session:
    id: str
    csrf: str
    seen: float
    account: str | None = None  # the unlocked account's name
    address: str | None = None
    unlocked: tessera.Tessera | None = field(default=None, repr=False)
    wallet_asks: dict[str, tessera.UnsignedAsk] = field(default_factory=dict, repr=False)
    prepares: RateLimit = field(
        default_factory=lambda: RateLimit(PREPARES_PER_SESSION, PREPARE_WINDOW_S), repr=False
    )
    relays: RateLimit = field(
        default_factory=lambda: RateLimit(RELAYS_PER_SESSION, RELAY_WINDOW_S), repr=False
    )

    def lock(self) -> None:
        self.account = self.address = self.unlocked = None

    def keep_ask(self, unsigned: tessera.UnsignedAsk) -> str:
        """Hold a question while the wallet signs it: what is sent is what was served."""
        while len(self.wallet_asks) >= MAX_WALLET_ASKS:
            del self.wallet_asks[next(iter(self.wallet_asks))]
        ticket = secrets.token_urlsafe(16)
        self.wallet_asks[ticket] = unsigned
        return ticket

    def take_ask(self, ticket: str) -> tessera.UnsignedAsk:
        """A held question, once: a second send of it finds nothing."""
        unsigned = self.wallet_asks.pop(ticket, None)
        if unsigned is None:
            raise tessera.InputError(
                "this question is not waiting to be sent (sent already, replaced by newer "
                "ones, or from before the server restarted): ask it again"
            )
        return unsigned

    def csrf_ok(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf, str(token))


class RateLimit:
    """At most `count` events in any `window_s` seconds."""

    def __init__(self, count: int, window_s: float) -> None:
        self.count, self.window_s = count, window_s
        self._times: list[float] = []
        self._lock = threading.Lock()

    def take(self, what: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._times = [t for t in self._times if now - t < self.window_s]
            if len(self._times) >= self.count:
                raise tessera.InputError(
                    f"too many {what} in the last {self.window_s:.0f} s: wait a minute and "
                    "try again"
                )
            self._times.append(now)


class Sessions:
    def __init__(self, idle_s: float = IDLE_S) -> None:
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()
        self.idle_s = idle_s

    def get(self, session_id: str | None) -> Session | None:
        with self._lock:
            session = self._by_id.get(session_id or "")
            if session is None:
                return None
            now = time.monotonic()
            if now - session.seen > self.idle_s:
                session.lock()
            session.seen = now
            return session

    def new(self) -> Session:
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), time.monotonic())
        with self._lock:
            if len(self._by_id) >= MAX_SESSIONS:
                oldest = min(self._by_id.values(), key=lambda s: s.seen)
                del self._by_id[oldest.id]
            self._by_id[session.id] = session
        return session
