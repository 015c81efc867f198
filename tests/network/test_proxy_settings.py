"""Where the proxy comes from: environment, Windows Internet Settings, macOS, GNOME.

The system settings are given as the systems print or store them: the Windows registry values
of ``HKCU\\...\\Internet Settings`` (through the injectable registry reader the workstation checks
use), the text of ``scutil --proxy`` (format of macOS's own output, written here by hand for a
proxy ``proxy.chu.test:3128`` with two exceptions) and of ``gsettings get``.
"""

from __future__ import annotations

import pytest

from diagcps.network.endpoints import DEFAULT_ENDPOINTS, Endpoint, parse_endpoints
from diagcps.network.proxy import (
    INTERNET_SETTINGS,
    Proxy,
    bypassed,
    discover,
    from_environment,
    from_windows,
    parse_gsettings,
    parse_proxy,
    parse_scutil,
)


def test_default_endpoints_are_the_published_ones_in_one_list() -> None:
    assert [e.host for e in DEFAULT_ENDPOINTS] == [
        "wallet.esw.esante.gouv.fr", "auth.esw.esante.gouv.fr", "sante.fr"]
    assert all(e.port == 443 for e in DEFAULT_ENDPOINTS)


def test_endpoint_list_override_accepts_ports_and_paths_and_drops_nonsense() -> None:
    assert parse_endpoints("a.test:8443/x/y, B.test  c.test:99999 :1 d.test:x") == (
        Endpoint("a.test", 8443, "/x/y", "a.test", "a.test"),
        Endpoint("b.test", 443, "/", "B.test", "B.test"))


@pytest.mark.parametrize(("value", "proxy"), [
    ("http://proxy.chu.test:3128", Proxy("proxy.chu.test", 3128)),
    ("http://user:s3cret@proxy.chu.test:3128/", Proxy("proxy.chu.test", 3128)),
    ("proxy.chu.test:8080", Proxy("proxy.chu.test", 8080)),
    ("proxy.chu.test", Proxy("proxy.chu.test", 8080)),
    ("socks5://proxy.chu.test:1080", None),
    ("http://proxy.chu.test:notaport", None),
    ("", None),
])
def test_proxy_addresses_are_read_without_their_credentials(value: str,
                                                            proxy: Proxy | None) -> None:
    assert parse_proxy(value) == proxy


@pytest.mark.parametrize(("host", "patterns", "expected"), [
    ("wallet.esw.esante.gouv.fr", ["esante.gouv.fr"], True),
    ("wallet.esw.esante.gouv.fr", [".esante.gouv.fr"], True),
    ("wallet.esw.esante.gouv.fr", ["*.esante.gouv.fr"], True),
    ("esante.gouv.fr", [".esante.gouv.fr"], True),
    ("notesante.gouv.fr", ["esante.gouv.fr"], False),
    ("sante.fr", ["*"], True),
    ("sante.fr", ["localhost", "127.0.0.1"], False),
    ("intranet", ["<local>"], True),
    ("sante.fr", ["<local>"], False),
    ("10.1.2.3", ["10.0.0.0/8"], True),
    ("sante.fr", ["10.0.0.0/8"], False),
    ("sante.fr", ["sante.fr:443"], True),
])
def test_no_proxy_patterns(host: str, patterns: list[str], expected: bool) -> None:
    assert bypassed(host, patterns) is expected


def test_environment_lower_case_first_then_all_proxy() -> None:
    env = {"HTTPS_PROXY": "http://upper.test:1", "https_proxy": "http://lower.test:2",
           "NO_PROXY": "sante.fr"}
    found = from_environment(env)
    assert found is not None and found.https == Proxy("lower.test", 2)
    assert found.for_host("sante.fr") is None
    assert found.for_host("wallet.esw.esante.gouv.fr") == Proxy("lower.test", 2)
    fallback = from_environment({"ALL_PROXY": "http://all.test:3"})
    assert fallback is not None and fallback.https == Proxy("all.test", 3)
    assert from_environment({"http_proxy": "http://plain.test:4"}) is None


def test_unsupported_environment_proxy_is_kept_to_be_reported() -> None:
    found = from_environment({"https_proxy": "socks5://proxy.test:1080"})
    assert found is not None and found.https is None and found.unsupported == "socks5://"


def _registry(values: dict[str, str]):
    return lambda key, name: values.get(name) if key == INTERNET_SETTINGS else None


def test_windows_internet_settings_per_protocol_with_overrides_and_pac() -> None:
    found = from_windows(_registry({
        "ProxyEnable": "1", "ProxyServer": "http=proxy.chu.test:80;https=proxy.chu.test:8443",
        "ProxyOverride": "<local>;*.chu.test;10.*", "AutoConfigURL": "http://wpad.chu.test/p.pac"}))
    assert found is not None
    assert found.source == "windows" and found.https == Proxy("proxy.chu.test", 8443)
    assert found.bypass == ["<local>", "*.chu.test", "10.*"]
    assert found.pac_url == "http://wpad.chu.test/p.pac"


def test_windows_disabled_proxy_is_ignored_but_a_pac_is_still_reported() -> None:
    assert from_windows(_registry({"ProxyEnable": "0", "ProxyServer": "p.test:80"})) is None
    found = from_windows(_registry({"ProxyEnable": "0", "AutoConfigURL": "http://w.test/a.pac"}))
    assert found is not None and found.https is None and found.pac_url == "http://w.test/a.pac"


SCUTIL = """<dictionary> {
  ExceptionsList : <array> {
    0 : *.local
    1 : 169.254/16
  }
  FTPPassive : 1
  HTTPEnable : 1
  HTTPPort : 3128
  HTTPProxy : proxy.chu.test
  HTTPSEnable : 1
  HTTPSPort : 3128
  HTTPSProxy : proxy.chu.test
  ProxyAutoConfigEnable : 0
}
"""


def test_macos_system_proxy_from_scutil() -> None:
    found = parse_scutil(SCUTIL)
    assert found is not None and found.source == "macos"
    assert found.https == Proxy("proxy.chu.test", 3128)
    assert found.bypass == ["*.local", "169.254/16"]
    assert found.pac_url is None
    assert parse_scutil("<dictionary> {\n  HTTPEnable : 0\n}\n") is None


def test_macos_pac_is_reported() -> None:
    text = SCUTIL.replace("HTTPSEnable : 1", "HTTPSEnable : 0").replace(
        "ProxyAutoConfigEnable : 0",
        "ProxyAutoConfigEnable : 1\n  ProxyAutoConfigURLString : http://wpad.chu.test/p.pac")
    found = parse_scutil(text)
    assert found is not None and found.https is None
    assert found.pac_url == "http://wpad.chu.test/p.pac"


def test_gnome_manual_and_auto_modes() -> None:
    manual = parse_gsettings("'manual'\n", {
        "https.host": "'proxy.chu.test'\n", "https.port": "3128\n",
        "ignore-hosts": "['localhost', '127.0.0.0/8', '.chu.test']\n"})
    assert manual is not None and manual.https == Proxy("proxy.chu.test", 3128)
    assert manual.bypass == ["localhost", "127.0.0.0/8", ".chu.test"]
    auto = parse_gsettings("'auto'", {"autoconfig-url": "'http://wpad.chu.test/p.pac'"})
    assert auto is not None and auto.pac_url == "http://wpad.chu.test/p.pac"
    assert parse_gsettings("'none'", {}) is None


def test_environment_wins_and_gnome_is_asked_only_on_gnome() -> None:
    asked: list[list[str]] = []

    def run(args: list[str], timeout: float = 0) -> str | None:
        asked.append(list(args))
        return {"mode": "'manual'", "host": "'gnome.test'", "port": "8080"}.get(args[-1], "")

    env = {"https_proxy": "http://env.test:1"}
    assert discover({**env, "XDG_CURRENT_DESKTOP": "GNOME"}, "Linux", None, run).source == \
        "environment"
    assert asked == []
    assert discover({"XDG_CURRENT_DESKTOP": "KDE"}, "Linux", None, run).source == "none"
    found = discover({"XDG_CURRENT_DESKTOP": "ubuntu:GNOME"}, "Linux", None, run)
    assert found.source == "gnome" and found.https == Proxy("gnome.test", 8080)


def test_settings_with_control_characters_are_made_printable() -> None:
    found = discover({"https_proxy": "http://pro\x1bxy.test:3128",
                      "no_proxy": "a.test,\x07b.test"}, "Linux", None, None)
    assert found.https is not None and found.https.host == "pro\ufffdxy.test"
    assert found.bypass == ["a.test", "\ufffdb.test"]
    # A malformed one is reported as unusable, not a crash.
    broken = discover({"https_proxy": "http://pro\x1b[2Jxy.test:3128"}, "Linux", None, None)
    assert broken.https is None and broken.unsupported == "malformed address"


def test_text_kept_from_the_network_has_no_control_character_and_is_bounded() -> None:
    from diagcps.safe_text import bounded

    assert bounded("Zscaler\x1b]0;owned\x07 Root\u202eCA\x9b") == (
        "Zscaler\ufffd]0;owned\ufffd Root\ufffdCA\ufffd")
    assert bounded("é — “ok”") == "é — “ok”"
    assert len(bounded("x" * 1000)) == 300
