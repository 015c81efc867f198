"""Probing the endpoints: every one in its own thread, all under one deadline.

Per endpoint: the proxy that applies, name resolution (of the endpoint, or of the proxy when
there is one: the proxy resolves the endpoint), TCP (direct or through the proxy's ``CONNECT``),
a TLS handshake with SNI validated against the system store, one ``HEAD`` without cookies for
the server's ``Date``, then a second handshake validated against the Mozilla roots. Each step
is bounded by what is left of the time limit, so a black-holed address costs the limit, never
more; a step still running at the deadline is reported as timed out.
"""

from __future__ import annotations

import errno
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from diagcps._version import __version__
from diagcps.network.endpoints import Endpoint, NetworkSettings
from diagcps.network.proxy import Proxy, ProxySettings, discover
from diagcps.network.trust import TrustStores, unverified_context
from diagcps.safe_text import bounded

#: A skew beyond this between the local clock and the servers' is a finding.
CLOCK_SKEW_LIMIT_S = 300.0
#: Kept from the time limit for gathering the results.
_MARGIN_S = 0.05
_MAX_HEADER_BYTES = 16384


@dataclass
class TlsFacts:
    version: str | None = None
    #: Validation against the system's store / the Mozilla roots: True, False or None (not done).
    system_valid: bool | None = None
    system_error: str | None = None
    mozilla_valid: bool | None = None
    mozilla_error: str | None = None
    leaf_subject: str | None = None
    leaf_issuer: str | None = None
    #: Issuer of the last certificate the server presented: the root's name.
    chain_root: str | None = None
    chain_length: int | None = None


@dataclass
class EndpointResult:
    endpoint: Endpoint
    proxy: str | None = None
    #: The step reached: "proxy", "dns", "tcp", "connect", "tls", "http", "done".
    stage: str = "dns"
    #: "ok", "dns_failed", "refused", "timeout", "unreachable", "proxy_failed", "tls_failed",
    #: "intercepted", "cert_invalid", "untrusted_by_system".
    outcome: str = "timeout"
    error: str | None = None
    #: For "proxy_failed": what happened on the way to the proxy ("dns_failed", "unreachable",
    #: "refused", "timeout"), or None when the proxy itself answered.
    cause: str | None = None
    addresses: list[str] = field(default_factory=list)
    tls: TlsFacts | None = None
    http_status: int | None = None
    server_date: str | None = None
    #: Local clock minus the server's, in seconds (positive: this computer is ahead).
    clock_skew_s: float | None = None
    duration_ms: float = 0.0


@dataclass
class NetworkOutcome:
    #: None when probed; else "offline" (--offline), "not_requested", "replay" or "error".
    skipped: str | None = None
    time_limit_s: float = 0.0
    duration_ms: float = 0.0
    proxy: ProxySettings = field(default_factory=ProxySettings)
    endpoints: list[EndpointResult] = field(default_factory=list)
    #: False when the system has no route to the internet at all (nothing was sent to know).
    has_route: bool | None = None
    stores: dict[str, str] = field(default_factory=dict)
    #: The probe's own crash (skipped == "error"), a bug of the tool.
    error: str | None = None

    @property
    def no_network(self) -> bool:
        """Nothing reached and no route out: one calm finding, not one per endpoint."""
        if self.skipped or not self.endpoints or self.has_route is not False:
            return False
        # A proxy left configured on an offline laptop fails too, for the same reasons; a proxy
        # that answers (even to refuse) proves a network.
        offline = ("dns_failed", "unreachable")
        return all(r.outcome in offline or (r.outcome == "proxy_failed" and r.cause in offline)
                   for r in self.endpoints)

    @property
    def clock_skew_s(self) -> float | None:
        """The skew measured on the first endpoint that answered (servers keep good time)."""
        skews = [r.clock_skew_s for r in self.endpoints if r.clock_skew_s is not None]
        return skews[0] if skews else None


class _Failed(Exception):
    def __init__(self, outcome: str, error: str, cause: str | None = None) -> None:
        super().__init__(error)
        self.outcome, self.error, self.cause = outcome, bounded(error), cause


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise _Failed("timeout", "time limit reached")
        return left


def probe_all(settings: NetworkSettings) -> NetworkOutcome:
    start = time.monotonic()
    deadline = _Deadline(max(settings.time_limit_s - _MARGIN_S, 0.1))
    outcome = NetworkOutcome(time_limit_s=settings.time_limit_s,
                             stores=settings.stores.describe())
    outcome.proxy = discover(settings.env, settings.system, settings.registry, settings.run)
    results = [EndpointResult(e) for e in settings.endpoints]
    # Daemon threads: a resolver stuck past the deadline must not hold the process at exit.
    threads = [threading.Thread(target=_probe_into, args=(r, outcome.proxy, settings.stores,
                                                          deadline),
                                name=f"probe {r.endpoint.label}", daemon=True)
               for r in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(deadline.end - time.monotonic(), 0))
    for index, thread in enumerate(threads):
        if thread.is_alive():
            # Still running: the step it is in has timed out. Report a copy, as it was.
            result = results[index]
            snapshot = EndpointResult(**{**result.__dict__})
            snapshot.outcome, snapshot.error = _late(result), _STEP_WORDS.get(result.stage,
                                                                              result.stage)
            snapshot.duration_ms = (time.monotonic() - start) * 1000
            results[index] = snapshot
    outcome.endpoints = results
    if not any(r.stage in ("tls", "http", "done") for r in results):
        outcome.has_route = has_route()
    outcome.duration_ms = (time.monotonic() - start) * 1000
    return outcome


def _late(result: EndpointResult) -> str:
    """The outcome of a probe still running at the deadline: whose silence it is."""
    if result.proxy and result.stage in ("dns", "tcp", "connect"):
        return "proxy_failed"
    return "dns_failed" if result.stage == "dns" else "timeout"


_STEP_WORDS = {
    "dns": "no answer from the name server",
    "tcp": "no answer to the connection",
    "connect": "no answer from the proxy",
    "tls": "no answer during the TLS handshake",
    "http": "no answer to the HEAD request",
}


def has_route() -> bool:
    """Whether the system has a route towards the internet. Connecting a UDP socket only looks
    the route up: no packet leaves. 192.0.2.1 is a documentation address (RFC 5737)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 443))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def _probe_into(result: EndpointResult, proxies: ProxySettings, stores: TrustStores,
                deadline: _Deadline) -> None:
    start = time.monotonic()
    try:
        _probe(result, proxies, stores, deadline)
    except _Failed as failed:
        result.outcome, result.error, result.cause = failed.outcome, failed.error, failed.cause
    except Exception as exc:  # a probe never takes the family down: it reports what it saw
        result.outcome, result.error = "tls_failed", bounded(f"{type(exc).__name__}: {exc}")
    result.duration_ms = (time.monotonic() - start) * 1000


def _probe(result: EndpointResult, proxies: ProxySettings, stores: TrustStores,
           deadline: _Deadline) -> None:
    endpoint = result.endpoint
    proxy = proxies.for_host(endpoint.host)
    result.proxy = proxy.url if proxy else None
    if proxies.https is None and proxies.unsupported:
        raise _Failed("proxy_failed", f"unusable proxy setting: {proxies.unsupported}")
    result.stage = "dns"
    target = (proxy.host, proxy.port) if proxy else (endpoint.host, endpoint.port)
    addresses = _resolve(target, deadline, for_proxy=proxy is not None)
    result.addresses = [a[4][0] for a in addresses]

    def connect(context: ssl.SSLContext) -> ssl.SSLSocket:
        result.stage = "tcp"
        raw = _connect(addresses, deadline, proxy)
        if proxy is not None:
            result.stage = "connect"
            _tunnel(raw, endpoint, proxy, deadline)
        result.stage = "tls"
        try:
            raw.settimeout(deadline.left())
            return context.wrap_socket(raw, server_hostname=endpoint.host)
        except ssl.SSLCertVerificationError:
            raw.close()
            raise
        except TimeoutError as exc:
            raw.close()
            raise _Failed("timeout", "no answer during the TLS handshake") from exc
        except OSError as exc:  # ssl.SSLError is one: a protocol failure, a reset
            raw.close()
            raise _Failed("tls_failed", _short(exc)) from exc

    tls = result.tls = TlsFacts()
    try:
        sock = connect(stores.system_context())
        tls.system_valid = True
    except ssl.SSLCertVerificationError as exc:
        tls.system_valid, tls.system_error = False, _verify_message(exc)
        sock = connect(unverified_context())
    with sock:
        tls.version = sock.version()
        _read_chain(sock, tls)
        result.stage = "http"
        _head(sock, result, deadline)
    try:
        connect(stores.mozilla_context()).close()
        tls.mozilla_valid = True
    except ssl.SSLCertVerificationError as exc:
        tls.mozilla_valid, tls.mozilla_error = False, _verify_message(exc)
    result.stage = "done"
    result.outcome = _tls_outcome(tls)


def _tls_outcome(tls: TlsFacts) -> str:
    if tls.system_valid and tls.mozilla_valid:
        return "ok"
    if tls.system_valid:
        return "intercepted"
    if tls.mozilla_valid:
        return "untrusted_by_system"
    return "cert_invalid"


def _verify_message(exc: ssl.SSLCertVerificationError) -> str:
    return bounded(str(getattr(exc, "verify_message", None) or exc.reason or exc))


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]


def _resolve(target: tuple[str, int], deadline: _Deadline, *, for_proxy: bool) -> list[Any]:
    """getaddrinfo in a thread of its own: the resolver has no timeout of its own we can set."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["ok"] = socket.getaddrinfo(target[0], target[1], type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(deadline.left())
    failed = "proxy_failed" if for_proxy else "dns_failed"
    if thread.is_alive():
        raise _Failed(failed, f"no answer resolving {target[0]}", "dns_failed")
    if "error" in box:
        exc = box["error"]
        raise _Failed(failed, f"resolving {target[0]}: {getattr(exc, 'strerror', None) or exc}",
                      "dns_failed")
    return box["ok"][:4]


def _connect(addresses: list[Any], deadline: _Deadline, proxy: Proxy | None) -> socket.socket:
    last: _Failed | None = None
    for index, (family, kind, proto, _name, address) in enumerate(addresses):
        sock = socket.socket(family, kind, proto)
        # A silent first address (often a broken IPv6 route) leaves time for the next ones.
        sock.settimeout(deadline.left() / (len(addresses) - index))
        try:
            sock.connect(address)
            # The next connections (one per trust store) go first to the address that answered.
            addresses.insert(0, addresses.pop(index))
            return sock
        except TimeoutError:
            sock.close()
            last = _Failed("timeout", f"no answer from {address[0]} port {address[1]}")
        except ConnectionRefusedError:
            sock.close()
            last = _Failed("refused", f"{address[0]} port {address[1]} refused the connection")
        except OSError as exc:
            sock.close()
            unreachable = exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EINVAL)
            last = _Failed("unreachable" if unreachable else "refused",
                           f"{address[0]} port {address[1]}: {exc.strerror or exc}")
    assert last is not None
    if proxy is not None:
        raise _Failed("proxy_failed", last.error, last.outcome)
    raise last


def _tunnel(sock: socket.socket, endpoint: Endpoint, proxy: Proxy, deadline: _Deadline) -> None:
    """Ask the proxy for a tunnel to the endpoint (HTTP CONNECT). No credentials are sent."""
    request = (f"CONNECT {endpoint.host}:{endpoint.port} HTTP/1.1\r\n"
               f"Host: {endpoint.host}:{endpoint.port}\r\n"
               f"User-Agent: diagcps/{__version__}\r\n\r\n")
    try:
        sock.settimeout(deadline.left())
        sock.sendall(request.encode("ascii"))
        head = _read_head(sock, deadline)
    except _Failed as exc:
        sock.close()
        raise _Failed("proxy_failed", "no answer to CONNECT in time") from exc
    except OSError as exc:
        sock.close()
        raise _Failed("proxy_failed", _short(exc)) from exc
    status, _headers = _parse_head(head)
    if status != 200:
        sock.close()
        raise _Failed("proxy_failed", f"it answered HTTP {status} to CONNECT"
                      if status else "it did not answer as a proxy")


def _read_head(sock: socket.socket, deadline: _Deadline) -> bytes:
    """Bytes up to the end of the headers, one at a time past the first read: a CONNECT
    answer must not swallow the first bytes of the tunnel."""
    data = b""
    while b"\r\n\r\n" not in data:
        sock.settimeout(deadline.left())
        try:
            chunk = sock.recv(1)
        except TimeoutError as exc:
            raise _Failed("timeout", "no answer to the request") from exc
        if not chunk:
            break
        data += chunk
        if len(data) > _MAX_HEADER_BYTES:
            break
    return data


def _parse_head(head: bytes) -> tuple[int | None, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split()
    status = int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return status, headers


def _head(sock: ssl.SSLSocket, result: EndpointResult, deadline: _Deadline) -> None:
    """One HEAD of a public page: no cookie, no credentials, nothing about the user."""
    endpoint = result.endpoint
    request = (f"HEAD {endpoint.path} HTTP/1.1\r\nHost: {endpoint.host}\r\n"
               f"User-Agent: diagcps/{__version__}\r\nAccept: */*\r\nConnection: close\r\n\r\n")
    try:
        sock.settimeout(deadline.left())
        sock.sendall(request.encode("ascii"))
        head = _read_head(sock, deadline)
    except (OSError, ssl.SSLError) as exc:
        # The handshake worked: a page that does not answer is not what this family checks.
        result.error = bounded(f"HEAD: {_short(exc)}")
        return
    received = time.time()
    result.http_status, headers = _parse_head(head)
    date = headers.get("date")
    if date:
        try:
            server = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            return
        result.server_date = server.isoformat()
        result.clock_skew_s = round(received - server.timestamp(), 1)


def _read_chain(sock: ssl.SSLSocket, tls: TlsFacts) -> None:
    from cryptography import x509

    der = sock.getpeercert(binary_form=True)
    if der:
        leaf = x509.load_der_x509_certificate(der)
        tls.leaf_subject, tls.leaf_issuer = _name(leaf.subject), _name(leaf.issuer)
    # The presented chain (public from Python 3.13, private before): its top names the root.
    chain_of = getattr(sock, "get_unverified_chain", None) or getattr(
        getattr(sock, "_sslobj", None), "get_unverified_chain", None)
    chain = None
    try:
        chain = chain_of() if chain_of else None
    except (ValueError, ssl.SSLError):
        chain = None
    if chain:
        tls.chain_length = len(chain)
        top = chain[-1]
        top_der = top if isinstance(top, bytes) else top.public_bytes(ssl._ssl.ENCODING_DER)
        tls.chain_root = _name(x509.load_der_x509_certificate(top_der).issuer)
    else:
        tls.chain_root = tls.leaf_issuer


def _name(name: Any) -> str:
    from cryptography.x509.oid import NameOID

    for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
        values = name.get_attributes_for_oid(oid)
        if values:
            return bounded(str(values[0].value))
    return bounded(name.rfc4514_string())
