"""A private network where diagcps meets real servers, proxies and failures.

Run as root inside fresh network and mount namespaces, never on the machine's own network::

    unshare --net --mount -- python tests/network/testbed.py SCENARIO [--runs N] [-- CLI ARGS]

It brings up ``lo`` (the namespace's only interface: nothing can leave it), routes 10.66.0.0/24
into ``lo`` where no one answers (a black hole: connections time out), bind-mounts its own hosts
file and resolv.conf over /etc (private mount namespace: the system's files are untouched) so
that names go through the real resolver path, generates a test CA, an inspection CA and the
certificates with ``cryptography``, starts real TLS servers (Python ``ssl``) answering ``HEAD``
with a ``Date`` header, a real CONNECT proxy and an intercepting proxy that re-signs with the
inspection CA, then runs ``diagcps check --virtual-card cps3-healthy --json`` as a child process.
It prints one JSON document: the reports, the wall times, and what every listener received.

The endpoints are under ``.test`` (RFC 6761), never the real ones. The "system store" is a PEM
file holding the test CA and the inspection CA; the "Mozilla roots" one holding the test CA only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import select
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from email.utils import format_datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BLACK_HOLE_NET = "10.66.0.0/24"
BLACK_HOLE = "10.66.0.5"
PROXY_IP, INTERCEPT_IP = "127.0.0.50", "127.0.0.51"
PROXY_PORT = 3128
INSPECTION_CA_NAME = "Testbed Inspection Root CA"
PUBLIC_CA_NAME = "Testbed Public Root CA"
#: The three endpoints, as the default list has three: name -> address of its server.
SERVERS = {"wallet.test": "127.0.0.11", "auth.test": "127.0.0.12", "portal.test": "127.0.0.13"}
ENDPOINTS = "wallet.test,auth.test,portal.test"


# --- scenarios -----------------------------------------------------------------------------------

@dataclass
class Scenario:
    #: name -> address in the hosts file (names absent are unknown to the resolver).
    hosts: dict[str, str]
    endpoints: str = ENDPOINTS
    env: dict[str, str] = field(default_factory=dict)
    #: Certificates the servers present: "good", or "wrong_name" for a name-mismatched one.
    certs: dict[str, str] = field(default_factory=dict)
    #: Seconds added to the servers' Date header.
    date_offset_s: float = 0.0
    #: When the servers' certificates start, from now.
    cert_starts_in: dt.timedelta = -dt.timedelta(days=1)
    #: "relay", "forbidden" or None: the CONNECT proxy at PROXY_IP.
    proxy: str | None = None
    intercept: bool = False
    #: Answer DNS queries at 127.0.0.1:53 with REFUSED, counting them.
    dns_recorder: bool = False
    #: Sort the black hole first among a name's addresses (a gai.conf of the test bed's).
    black_hole_first: bool = False


def _hosts(**extra: str) -> dict[str, str]:
    return {**SERVERS, "proxy.test": PROXY_IP, "inspect.test": INTERCEPT_IP, **extra}


def scenario(name: str) -> Scenario:
    blocked = {n: BLACK_HOLE for n in SERVERS}
    via_proxy = {"HTTPS_PROXY": f"http://proxy.test:{PROXY_PORT}"}
    return {
        "healthy": lambda: Scenario(_hosts()),
        # Everything there and healthy, a proxy configured, a DNS listener: --offline must
        # reach none of them.
        "offline_flag": lambda: Scenario(_hosts(), endpoints=ENDPOINTS + ",unlisted.test",
                                         env={**via_proxy, "NO_PROXY": "unlisted.test"},
                                         proxy="relay", dns_recorder=True),
        # Not a name in the hosts file, no DNS server, no route out.
        "no_network": lambda: Scenario({}),
        # The same, with a proxy still set from the office: still one calm finding.
        "no_network_with_proxy": lambda: Scenario({}, env=via_proxy),
        "dns_failure": lambda: Scenario(_hosts(), endpoints="wallet.test,missing.test,"
                                        "portal.test"),
        # Direct connections dropped, no proxy configured.
        "proxy_needed": lambda: Scenario(_hosts(**blocked)),
        # Direct connections dropped, the proxy set in the environment carries them.
        "via_proxy": lambda: Scenario(_hosts(**{**blocked, "wallet.test": SERVERS["wallet.test"]}),
                                      env={**via_proxy, "NO_PROXY": "localhost,.wallet.test"},
                                      proxy="relay"),
        "proxy_failing": lambda: Scenario(_hosts(**blocked), env=via_proxy, proxy="forbidden"),
        "proxy_down": lambda: Scenario(_hosts(**blocked), env={
            "HTTPS_PROXY": "http://user:secret@proxy.test:3199"}),
        "intercepted": lambda: Scenario(_hosts(**blocked), env={
            "https_proxy": f"http://inspect.test:{PROXY_PORT}"}, intercept=True),
        "bad_certificate": lambda: Scenario(_hosts(), certs={"auth.test": "wrong_name"}),
        "skewed_clock": lambda: Scenario(_hosts(), date_offset_s=-2 * 3600),
        # This computer's clock 3 h behind the world's: the servers' certificates (issued 2 h
        # ago by the world's clock) are not valid yet by ours. The local clock cannot be moved
        # in a namespace, so the world is moved instead: the certificates and the Date.
        "clock_behind": lambda: Scenario(_hosts(), date_offset_s=3 * 3600,
                                         cert_starts_in=dt.timedelta(hours=1)),
        "black_hole": lambda: Scenario(_hosts(**{"auth.test": BLACK_HOLE})),
        # Two addresses, the first silent (as a broken IPv6 route often is).
        "first_address_silent": lambda: Scenario(_hosts(**{
            "auth.test": f"{BLACK_HOLE} {SERVERS['auth.test']}"}), black_hole_first=True),
    }[name]()


SCENARIOS = ("healthy", "offline_flag", "no_network", "no_network_with_proxy", "dns_failure",
             "proxy_needed", "via_proxy", "proxy_failing", "proxy_down", "intercepted",
             "bad_certificate", "skewed_clock", "black_hole", "first_address_silent",
             "clock_behind")


# --- certificates --------------------------------------------------------------------------------

@dataclass
class Authority:
    name: str
    key: Any
    cert: Any

    def pem(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding

        return self.cert.public_bytes(Encoding.PEM)


def _key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> Any:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "diagcps test bed"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_authority(common_name: str) -> Authority:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    key = _key()
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(common_name))
            .issuer_name(_name(common_name)).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return Authority(common_name, key, cert)


def issue(authority: Authority, host: str, folder: Path,
          starts_in: dt.timedelta = -dt.timedelta(days=1)) -> ssl.SSLContext:
    """A server context presenting a certificate for ``host`` issued by ``authority``, valid
    from ``starts_in`` from now for 30 days."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID

    key = _key()
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(host))
            .issuer_name(authority.cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + starts_in)
            .not_valid_after(now + starts_in + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                authority.key.public_key()), critical=False)
            .sign(authority.key, hashes.SHA256()))
    path = folder / f"{authority.name.replace(' ', '_')}-{host}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(path)
    return context


# --- listeners -----------------------------------------------------------------------------------

class Listener:
    """A TCP listener serving each connection in a thread, counting them."""

    def __init__(self, address: str, port: int, handle: Any) -> None:
        self.sock = socket.create_server((address, port))
        self.handle = handle
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            self.connections += 1
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(10)
            self.handle(conn)
        except (OSError, ValueError):
            pass  # a client that gives up (failed validation, time limit) is part of the test
        finally:
            conn.close()


def read_head(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def web_server(context: ssl.SSLContext, date_offset_s: float, log: list[str]) -> Any:
    def handle(conn: socket.socket) -> None:
        with context.wrap_socket(conn, server_side=True) as tls:
            request = read_head(tls)
            if not request:
                return
            log.append(request.decode("latin-1"))
            date = format_datetime(dt.datetime.fromtimestamp(time.time() + date_offset_s,
                                                             dt.timezone.utc), usegmt=True)
            tls.sendall(f"HTTP/1.1 200 OK\r\nDate: {date}\r\nContent-Length: 0\r\n"
                        "Connection: close\r\n\r\n".encode())
    return handle


def pipe(a: socket.socket, b: socket.socket) -> None:
    sockets = [a, b]
    while True:
        ready, _, _ = select.select(sockets, [], [], 10)
        if not ready:
            return
        for s in ready:
            data = s.recv(65536)
            if not data:
                return
            (b if s is a else a).sendall(data)


def connect_proxy(mode: str, log: list[str]) -> Any:
    def handle(conn: socket.socket) -> None:
        head = read_head(conn)
        log.append(head.decode("latin-1"))
        method, target, *_ = head.decode().split()
        host, _, port = target.rpartition(":")
        if method != "CONNECT" or mode == "forbidden" or host not in SERVERS:
            conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        with socket.create_connection((SERVERS[host], int(port)), timeout=5) as upstream:
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            pipe(conn, upstream)
    return handle


def intercepting_proxy(contexts: dict[str, ssl.SSLContext], public_ca: Path,
                       log: list[str]) -> Any:
    """Answers CONNECT, then ends the client's TLS with a certificate of its own CA, and opens
    its own TLS connection to the real server: what an inspecting proxy does."""
    upstream_context = ssl.create_default_context(cafile=str(public_ca))

    def handle(conn: socket.socket) -> None:
        head = read_head(conn)
        log.append(head.decode("latin-1"))
        host, _, port = head.decode().split()[1].rpartition(":")
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        with contexts[host].wrap_socket(conn, server_side=True) as client:
            raw = socket.create_connection((SERVERS[host], int(port)), timeout=5)
            with upstream_context.wrap_socket(raw, server_hostname=host) as server:
                request = read_head(client)
                if request:
                    server.sendall(request)
                    client.sendall(read_head(server))
    return handle


class DnsRecorder:
    """Counts DNS queries at 127.0.0.1:53 and answers each with REFUSED."""

    def __init__(self) -> None:
        self.queries = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 53))
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            data, peer = self.sock.recvfrom(4096)
            self.queries += 1
            if len(data) >= 12:
                flags = bytes([0x80 | (data[2] & 0x01), 0x05])  # response, RCODE 5
                self.sock.sendto(data[:2] + flags + data[4:], peer)


# --- the namespace -------------------------------------------------------------------------------

def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


#: glibc sorts a name's addresses (RFC 6724); these rules put the black hole first: the same
#: scope for every IPv4 address, then a precedence above the other IPv4 ones.
GAI_BLACK_HOLE_FIRST = """\
scopev4 ::ffff:127.0.0.0/104 14
scopev4 ::ffff:0.0.0.0/96 14
precedence ::1/128 50
precedence ::/0 40
precedence ::ffff:10.66.0.0/120 45
precedence ::ffff:0:0/96 10
"""


def enter_private_network(hosts: dict[str, str], folder: Path,
                          black_hole_first: bool = False) -> None:
    names = [name for _index, name in socket.if_nameindex()]
    if names != ["lo"]:
        raise SystemExit(f"refusing to run outside a fresh network namespace (interfaces: {names})")
    _run("ip", "link", "set", "lo", "up")
    _run("ip", "route", "add", BLACK_HOLE_NET, "dev", "lo")
    hosts_file = folder / "hosts"
    # An address may be "a b": the name then has two addresses, in that order.
    hosts_file.write_text("127.0.0.1 localhost\n" + "".join(
        f"{one} {name}\n" for name, address in hosts.items() for one in address.split()))
    resolv = folder / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    _run("mount", "--bind", str(hosts_file), "/etc/hosts")
    _run("mount", "--bind", str(resolv), str(Path("/etc/resolv.conf").resolve()))
    if black_hole_first:
        gai = folder / "gai.conf"
        gai.write_text(GAI_BLACK_HOLE_FIRST)
        _run("mount", "--bind", str(gai), "/etc/gai.conf")


def child_env(extra: dict[str, str], stores: tuple[Path, Path], endpoints: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("https_proxy", "http_proxy", "all_proxy", "no_proxy")
           and k != "DIAGCPS_OFFLINE"}
    env.update({"DIAGCPS_NETWORK_ENDPOINTS": endpoints, "DIAGCPS_SYSTEM_CA": str(stores[0]),
                "DIAGCPS_MOZILLA_CA": str(stores[1]), "PYTHONPATH": str(ROOT), **extra})
    return env


def run_check(env: dict[str, str], args: list[str]) -> tuple[dict[str, Any], float, int]:
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "diagcps", "check", "--virtual-card",
                           "cps3-healthy", "--json", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=60)
    wall = time.monotonic() - start
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"diagcps gave no JSON (exit {done.returncode}): {done.stderr}") from None
    return report, wall, done.returncode


def run_child(env: dict[str, str], argv: list[str]) -> tuple[dict[str, Any], float, int]:
    start = time.monotonic()
    done = subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} failed (exit {done.returncode}): {done.stderr}")
    return json.loads(done.stdout), time.monotonic() - start, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=SCENARIOS)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--child", metavar="SCRIPT",
                        help="run this Python script (JSON on stdout) instead of diagcps check")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    options = parser.parse_args(argv[:cut])
    # What follows "--" goes to diagcps check (or to the --child script) untouched.
    options.cli = argv[cut + 1:]
    setup = scenario(options.scenario)
    with tempfile.TemporaryDirectory(prefix="diagcps-netbed-") as tmp:
        folder = Path(tmp)
        enter_private_network(setup.hosts, folder, setup.black_hole_first)
        public, inspection = make_authority(PUBLIC_CA_NAME), make_authority(INSPECTION_CA_NAME)
        system_store, mozilla_store = folder / "system-store.pem", folder / "mozilla-roots.pem"
        system_store.write_bytes(public.pem() + inspection.pem())
        mozilla_store.write_bytes(public.pem())

        log: list[str] = []
        listeners: dict[str, Listener] = {}
        for host, address in SERVERS.items():
            certified = "other.test" if setup.certs.get(host) == "wrong_name" else host
            listeners[host] = Listener(address, 443, web_server(
                issue(public, certified, folder, setup.cert_starts_in), setup.date_offset_s,
                log))
        if setup.proxy:
            listeners["proxy"] = Listener(PROXY_IP, PROXY_PORT, connect_proxy(setup.proxy, log))
        if setup.intercept:
            contexts = {host: issue(inspection, host, folder) for host in SERVERS}
            listeners["inspect"] = Listener(INTERCEPT_IP, PROXY_PORT,
                                            intercepting_proxy(contexts, mozilla_store, log))
        dns = DnsRecorder() if setup.dns_recorder else None

        env = child_env(setup.env, (system_store, mozilla_store), setup.endpoints)
        runs = []
        for _ in range(options.runs):
            if options.child:
                report, wall, code = run_child(env, [options.child, *options.cli])
            else:
                report, wall, code = run_check(env, options.cli)
            runs.append({"report": report, "wall_s": wall, "exit_code": code})
        time.sleep(0.05)  # let the servers count the last connection
        json.dump({"scenario": options.scenario, "runs": runs, "requests": log,
                   "connections": {k: v.connections for k, v in listeners.items()},
                   "dns_queries": dns.queries if dns else None}, sys.stdout)


if __name__ == "__main__":
    main()
