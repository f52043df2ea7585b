"""The chaos run's clients: a mixed workload through HAProxy, every answer recorded.

A few threads, each on its own connection, pick operations from a seeded RNG until the
run's time is up: greetings, availability searches, document reads (GETs), registrations,
uploads, and lease races — several tenants' leases for the SAME unit and overlapping
dates sent for signature at once, of which one wins and the others are 409 Conflict;
the winner is signed and activated, which sends the greeter its welcome event.

GETs reuse each client's connection. A write goes on a connection of its own, as a
client that needs an answer to every write should: when a replica dies with a request
that was not the first on its client connection, HAProxy answers by closing that
connection (HTTP's signal that an idempotent request may be sent again), not with a 502,
and a closed connection says nothing more than a 502 but without the error's body.

Every request is an `Outcome`. A failed POST carries what to check afterwards (`effect`):
the audit (deploy/chaos_audit.py) says whether it took effect, so the report can tell a
failure that is safe to retry from one that is not.
"""

import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta

import httpx

CLIENT_TIMEOUT_SECONDS = 40  # past HAProxy's 35 s server timeout: only a hang reaches it
PASSWORD = "chaos-run-pass-phrase"  # noqa: S105 - the run's own throwaway accounts
RACERS = 3  # tenants whose leases of one unit are sent for signature at the same moment
LEASE_DAYS = 90
FIRST_LEASE_START = date(2030, 1, 1)
# Operations and how often each is picked (a lease race is six to eight requests).
WEIGHTS = {
    "greet": 30,
    "search": 20,
    "read_documents": 10,
    "register": 4,
    "upload": 25,
    "lease_race": 6,
}


@dataclass
class Outcome:
    operation: str
    method: str
    path: str
    at: float  # seconds into the workload
    status: int | None = None  # None: no answer (see `error`)
    error: str = ""  # the exception's name when there was no answer; a hang is "hang"
    code: str = ""  # the error contract's code, when the body is in the contract
    in_contract: bool = False
    reached_server: bool = False  # a replica answered (X-City-Instance), not HAProxy itself
    effect: dict | None = None  # for a failed POST: what the audit checks
    took_effect: bool | None = None  # the audit's answer


@dataclass
class Records:
    """What the clients did, shared by the threads."""

    outcomes: list[Outcome] = field(default_factory=list)
    accepted_documents: list[int] = field(default_factory=list)
    activated_leases: list[int] = field(default_factory=list)
    started: float = 0.0  # time.monotonic() when the workload began
    races: int = 0
    race_winners: int = 0
    race_conflicts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)


@dataclass
class Cast:
    """The people the workload acts as: a manager with units, and tenants."""

    manager_token: str
    unit_ids: list[int]
    tenants: list[dict]  # {"id", "username", "token"}


class Workload:
    def __init__(self, url: str, cast: Cast, *, seed: int, threads: int):
        self.url = url
        self.cast = cast
        self.seed = seed
        self.threads = threads
        self.records = Records()
        self._next_period = dict.fromkeys(cast.unit_ids, 0)
        self._periods_lock = threading.Lock()

    def run(self, until: float) -> Records:
        """Send the workload until `until` (time.monotonic()); what it did."""
        self.records.started = time.monotonic()
        clients = [
            threading.Thread(target=self._client, args=(index, until), name=f"client-{index}")
            for index in range(self.threads)
        ]
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        return self.records

    def _client(self, index: int, until: float) -> None:
        rng = random.Random(f"{self.seed}-client-{index}")  # noqa: S311 - replayable, not secret
        operations, weights = zip(*WEIGHTS.items(), strict=True)
        with _client(self.url) as http:
            while time.monotonic() < until:
                operation = rng.choices(operations, weights)[0]
                getattr(self, f"_{operation}")(http, rng)

    # --- the operations ----------------------------------------------------------------

    def _greet(self, http: httpx.Client, rng: random.Random) -> None:
        lang = rng.choice(["en", "fr", "es", "de", "pt"])
        self._send(http, "greet", "GET", "/api/greeter/greet", params={"name": "Ada", "lang": lang})

    def _search(self, http: httpx.Client, rng: random.Random) -> None:
        start = FIRST_LEASE_START + timedelta(days=rng.randrange(0, 720))
        period = {"start": start.isoformat(), "end": (start + timedelta(days=60)).isoformat()}
        tenant = rng.choice(self.cast.tenants)
        self._send(
            http, "search", "GET", "/api/leasing/units/available/", params=period, as_=tenant
        )

    def _read_documents(self, http: httpx.Client, rng: random.Random) -> None:
        tenant = rng.choice(self.cast.tenants)
        self._send(http, "read_documents", "GET", "/api/documents/", as_=tenant)

    def _register(self, http: httpx.Client, rng: random.Random) -> None:
        username = f"chaos-{uuid.UUID(int=rng.getrandbits(128)).hex[:12]}"
        newcomer = {"username": username, "email": f"{username}@example.org"}
        self._send(
            http,
            "register",
            "POST",
            "/api/greeter/newcomers/",
            json={**newcomer, "password": PASSWORD, "language": "en"},
            effect={"kind": "user", "username": username},
        )

    def _upload(self, http: httpx.Client, rng: random.Random) -> None:
        tenant = rng.choice(self.cast.tenants)
        name = f"chaos-{uuid.UUID(int=rng.getrandbits(128)).hex}.txt"
        response = self._send(
            http,
            "upload",
            "POST",
            "/api/documents/",
            as_=tenant,
            files={"file": (name, f"A note for the chaos run: {name}\n".encode())},
            effect={"kind": "document", "original_name": name},
        )
        if response is not None and response.status_code == 202:
            with self.records.lock:
                self.records.accepted_documents.append(response.json()["id"])

    def _lease_race(self, http: httpx.Client, rng: random.Random) -> None:
        """Drafts for several tenants of one unit and period, sent for signature at once:
        exactly one may hold the unit. The winner signs and the manager activates it."""
        unit = rng.choice(self.cast.unit_ids)
        start = self._period(unit)
        # Overlapping, not equal: each racer's lease ends on a different day.
        racers = rng.sample(self.cast.tenants, RACERS)
        drafts = []
        for offset, tenant in enumerate(racers):
            terms = {
                "unit": unit,
                "tenant": tenant["id"],
                "start_date": start.isoformat(),
                "end_date": (start + timedelta(days=LEASE_DAYS - offset)).isoformat(),
            }
            response = self._send(
                http,
                "lease_draft",
                "POST",
                "/api/leasing/leases/",
                json=terms,
                as_="manager",
                effect={"kind": "lease_drawn", **terms},
            )
            if response is not None and response.status_code == 201:
                drafts.append((response.json()["id"], tenant))
        if not drafts:
            return
        with ThreadPoolExecutor(len(drafts)) as pool:
            # Each write has a connection of its own (see _send): the racers truly race.
            sent = list(pool.map(lambda draft: self._send_for_signature(http, draft[0]), drafts))
        with self.records.lock:
            self.records.races += 1
            self.records.race_conflicts += sum(status == 409 for status in sent)
        winners = [draft for draft, status in zip(drafts, sent, strict=True) if status == 200]
        if len(winners) != 1:
            return
        with self.records.lock:
            self.records.race_winners += 1
        (lease, tenant) = winners[0]
        self._sign_and_activate(http, lease, tenant, start)

    def _send_for_signature(self, http: httpx.Client, lease: int) -> int | None:
        response = self._send(
            http,
            "lease_send",
            "POST",
            f"/api/leasing/leases/{lease}/send-for-signature/",
            as_="manager",
            expected=(200, 409),
            effect={"kind": "lease_sent", "lease": lease},
        )
        return response.status_code if response is not None else None

    def _sign_and_activate(self, http: httpx.Client, lease: int, tenant: dict, on: date) -> None:
        signed = self._send(
            http,
            "lease_sign",
            "POST",
            f"/api/leasing/leases/{lease}/sign/",
            as_=tenant,
            effect={"kind": "lease_signed", "lease": lease},
        )
        if signed is None or signed.status_code != 200:
            return
        activated = self._send(
            http,
            "lease_activate",
            "POST",
            f"/api/leasing/leases/{lease}/activate/",
            as_="manager",
            json={"on": on.isoformat()},
            effect={"kind": "lease_activated", "lease": lease},
        )
        if activated is not None and activated.status_code == 200:
            with self.records.lock:
                self.records.activated_leases.append(lease)

    def _period(self, unit: int) -> date:
        """The next period of `unit` to race for: each race a fresh one, so each has a winner."""
        with self._periods_lock:
            index = self._next_period[unit]
            self._next_period[unit] += 1
        return FIRST_LEASE_START + timedelta(days=index * LEASE_DAYS)

    # --- one request, recorded ---------------------------------------------------------

    def _send(
        self,
        http: httpx.Client,
        operation: str,
        method: str,
        path: str,
        *,
        as_: dict | str | None = None,
        expected: tuple[int, ...] = (200, 201, 202),
        effect: dict | None = None,
        **request,
    ) -> httpx.Response | None:
        headers = {}
        if as_ is not None:
            token = self.cast.manager_token if as_ == "manager" else as_["token"]
            headers["Authorization"] = f"Token {token}"
        outcome = Outcome(
            operation, method, path, round(time.monotonic() - self.records.started, 1)
        )
        try:
            if method == "GET":
                response = http.request(method, path, headers=headers, **request)
            else:
                with _client(self.url) as first_on_its_connection:
                    response = first_on_its_connection.request(
                        method, path, headers=headers, **request
                    )
        except httpx.TimeoutException:
            outcome.error = "hang"
            response = None
        except httpx.HTTPError as error:
            outcome.error = type(error).__name__
            response = None
        if response is not None:
            outcome.status = response.status_code
            outcome.reached_server = "X-City-Instance" in response.headers
            outcome.code, outcome.in_contract = _error_code(response)
        if outcome.status not in expected and method == "POST":
            outcome.effect = effect
        self.records.add(outcome)
        return response


def _client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=CLIENT_TIMEOUT_SECONDS)


def _error_code(response: httpx.Response) -> tuple[str, bool]:
    """The error contract's code, and whether the body is in the contract at all."""
    if response.status_code < 400:
        return "", False
    try:
        error = response.json()["error"]
        return error["code"], {"code", "message", "details"} <= error.keys()
    except (ValueError, KeyError, TypeError):
        return "", False


def prepare(url: str, *, tenants: int, units: int, make_manager) -> Cast:
    """Register the tenants and the manager through the API; `make_manager(username)`
    gives the manager the permission to manage properties (an administrator's act, not
    the API's); the manager's property and units through the API."""
    with _client(url) as http:
        people = [_register(http, f"chaos-tenant-{index}") for index in range(tenants)]
        manager = _register(http, "chaos-manager")
        make_manager(manager["username"])
        auth = {"Authorization": f"Token {manager['token']}"}
        place = {"name": "Chaos Court", "address": "1 rue du Désordre", "city": "Lyon"}
        place = _created(http.post("/api/leasing/properties/", json=place, headers=auth))
        unit_ids = [
            _created(
                http.post(
                    "/api/leasing/units/",
                    headers=auth,
                    json={
                        "property": place["id"],
                        "label": f"U{index}",
                        "bedrooms": 2,
                        "area_m2": "50.00",
                        "monthly_rent": "900.00",
                        "deposit": "1800.00",
                    },
                )
            )["id"]
            for index in range(units)
        ]
    return Cast(manager_token=manager["token"], unit_ids=unit_ids, tenants=people)


def _register(http: httpx.Client, username: str) -> dict:
    newcomer = {
        "username": username,
        "email": f"{username}@example.org",
        "password": PASSWORD,
        "language": "fr",
    }
    registered = _created(http.post("/api/greeter/newcomers/", json=newcomer))
    return {"id": registered["user"]["id"], "username": username, "token": registered["token"]}


def _created(response: httpx.Response) -> dict:
    if response.status_code != 201:
        raise RuntimeError(f"preparing the chaos run: {response.status_code} {response.text}")
    return response.json()
