"""Which proxy applies to a connection to an endpoint, from where the workstation says so.

Sources, first found wins: the environment (``HTTPS_PROXY``/``ALL_PROXY`` with ``NO_PROXY``, what
command-line tools and most programs follow), then the system settings the browsers follow: the
user's Internet Settings on Windows, the system proxy on macOS (``scutil --proxy``), GNOME's
(``gsettings``). A PAC script is reported, never fetched nor executed: it is a program.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from diagcps.safe_text import bounded

INTERNET_SETTINGS = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings"


@dataclass(frozen=True)
class Proxy:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@dataclass
class ProxySettings:
    #: "environment", "windows", "macos", "gnome" or "none".
    source: str = "none"
    https: Proxy | None = None
    #: Hosts that bypass the proxy (NO_PROXY, ProxyOverride, ExceptionsList, ignore-hosts).
    bypass: list[str] = field(default_factory=list)
    #: A proxy auto-configuration script's address, reported and not executed.
    pac_url: str | None = None
    #: What could not be understood (a SOCKS proxy, a malformed address).
    unsupported: str | None = None

    def for_host(self, host: str) -> Proxy | None:
        if self.https is None or bypassed(host, self.bypass):
            return None
        return self.https


def parse_proxy(value: str) -> Proxy | None:
    """``http://user:secret@host:port/``, ``host:port`` or ``host`` -> the proxy, without the
    credentials (never kept, never reported). None for an unsupported scheme (SOCKS)."""
    value = value.strip()
    if not value:
        return None
    if "://" not in value:
        value = "http://" + value
    try:  # a malformed setting (a stray "[", a bad port) is no proxy, never a crash
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        return Proxy(parts.hostname, parts.port or 8080)
    except ValueError:
        return None


def bypassed(host: str, patterns: list[str]) -> bool:
    """NO_PROXY semantics (curl's and Python's): ``*`` for all, a domain matches itself and its
    sub-domains (with or without a leading dot or ``*.``), an address or a network in CIDR."""
    host = host.lower().rstrip(".")
    for raw in patterns:
        pattern = raw.strip().lower()
        if not pattern:
            continue
        if pattern == "*":
            return True
        if pattern == "<local>":  # Windows: names without a dot
            if "." not in host:
                return True
            continue
        pattern = re.sub(r":\d+$", "", pattern).lstrip("*").lstrip(".")
        if "/" in pattern:
            try:
                if ipaddress.ip_address(host) in ipaddress.ip_network(pattern, strict=False):
                    return True
            except ValueError:
                pass
            continue
        if host == pattern or host.endswith("." + pattern):
            return True
    return False


def _split_list(value: str) -> list[str]:
    return [item for item in re.split(r"[,;\s]+", value) if item]


def from_environment(env: Mapping[str, str]) -> ProxySettings | None:
    def get(name: str) -> str:
        # Lower case first, as curl does; HTTPS_PROXY, then ALL_PROXY.
        return env.get(name.lower()) or env.get(name.upper()) or ""

    raw = get("https_proxy") or get("all_proxy")
    if not raw:
        return None
    proxy = parse_proxy(raw)
    return ProxySettings("environment", proxy, _split_list(get("no_proxy")),
                         unsupported=None if proxy else _scheme_of(raw))


def _scheme_of(raw: str) -> str:
    """What to call a proxy setting the tool cannot use: its scheme (``socks5://``), or
    "malformed address" for an http one it cannot parse."""
    scheme = raw.split("://", 1)[0].lower() if "://" in raw else "http"
    return "malformed address" if scheme in ("http", "https") else scheme + "://"


def from_windows(registry: Callable[[str, str], str | None]) -> ProxySettings | None:
    pac = registry(INTERNET_SETTINGS, "AutoConfigURL") or None
    enabled = (registry(INTERNET_SETTINGS, "ProxyEnable") or "0").strip() not in ("0", "")
    server = registry(INTERNET_SETTINGS, "ProxyServer") or ""
    proxy = None
    if enabled and server:
        # "host:port" for every protocol, or "http=h:p;https=h:p;..." per protocol.
        if "=" in server:
            per = dict(item.split("=", 1) for item in server.split(";") if "=" in item)
            server = per.get("https") or per.get("http") or ""
        proxy = parse_proxy(server)
    if proxy is None and pac is None:
        return None
    bypass = _split_list(registry(INTERNET_SETTINGS, "ProxyOverride") or "")
    return ProxySettings("windows", proxy, bypass, pac)


def parse_scutil(text: str) -> ProxySettings | None:
    """``scutil --proxy`` output (a printed CFDictionary) -> settings."""
    values = dict(re.findall(r"^\s*(\w+)\s*:\s*(.+?)\s*$", text, re.M))
    proxy = None
    if values.get("HTTPSEnable") == "1" and values.get("HTTPSProxy"):
        proxy = parse_proxy(f"{values['HTTPSProxy']}:{values.get('HTTPSPort', '8080')}")
    pac = values.get("ProxyAutoConfigURLString") if values.get(
        "ProxyAutoConfigEnable") == "1" else None
    if proxy is None and pac is None:
        return None
    block = re.search(r"ExceptionsList\s*:\s*<array>\s*\{(.*?)\}", text, re.S)
    bypass = re.findall(r"^\s*\d+\s*:\s*(\S+)", block.group(1), re.M) if block else []
    return ProxySettings("macos", proxy, bypass, pac)


def parse_gsettings(mode: str, values: Mapping[str, str]) -> ProxySettings | None:
    """GNOME: ``mode`` is 'none', 'manual' or 'auto'; values of the https host/port,
    autoconfig-url and ignore-hosts keys as gsettings prints them."""
    mode = mode.strip().strip("'")
    if mode == "auto":
        pac = values.get("autoconfig-url", "").strip().strip("'") or None
        return ProxySettings("gnome", None, [], pac) if pac else None
    if mode != "manual":
        return None
    host = values.get("https.host", "").strip().strip("'")
    port = values.get("https.port", "").strip().split()[-1:] or ["0"]
    if not host:
        return None
    proxy = parse_proxy(f"{host}:{port[0]}" if port[0] not in ("0", "") else host)
    bypass = re.findall(r"'([^']*)'", values.get("ignore-hosts", ""))
    return ProxySettings("gnome", proxy, bypass)


def from_gnome(run: Callable[..., str | None]) -> ProxySettings | None:
    mode = run(["gsettings", "get", "org.gnome.system.proxy", "mode"], timeout=1.0)
    if not mode or mode.strip().strip("'") not in ("manual", "auto"):
        return None
    values = {}
    for schema, key, name in (("org.gnome.system.proxy.https", "host", "https.host"),
                              ("org.gnome.system.proxy.https", "port", "https.port"),
                              ("org.gnome.system.proxy", "autoconfig-url", "autoconfig-url"),
                              ("org.gnome.system.proxy", "ignore-hosts", "ignore-hosts")):
        values[name] = run(["gsettings", "get", schema, key], timeout=1.0) or ""
    return parse_gsettings(mode, values)


def discover(env: Mapping[str, str], system: str,
             registry: Callable[[str, str], str | None] | None,
             run: Callable[..., str | None] | None) -> ProxySettings:
    """The settings that apply here; ``ProxySettings()`` (source "none") when there are none."""
    found = _discover(env, system, registry, run)
    if found is None:
        return ProxySettings()
    # Settings are the OS's or the user's text: shown later, so made printable here.
    return ProxySettings(found.source, None if found.https is None else Proxy(
        bounded(found.https.host), found.https.port), [bounded(b) for b in found.bypass],
        None if found.pac_url is None else bounded(found.pac_url),
        None if found.unsupported is None else bounded(found.unsupported))


def _discover(env: Mapping[str, str], system: str,
              registry: Callable[[str, str], str | None] | None,
              run: Callable[..., str | None] | None) -> ProxySettings | None:
    found = from_environment(env)
    if found is None and system == "Windows" and registry is not None:
        found = from_windows(registry)
    if found is None and system == "Darwin" and run is not None:
        text = run(["scutil", "--proxy"], timeout=1.0)
        found = parse_scutil(text) if text else None
    if found is None and system == "Linux" and run is not None and (
            env.get("XDG_CURRENT_DESKTOP", "").upper().find("GNOME") >= 0):
        found = from_gnome(run)
    return found
