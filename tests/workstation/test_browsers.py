from __future__ import annotations

import json
from pathlib import Path

from diagcps.workstation.browsers import find_firefox

HOME = {"HOME": "/home/alice"}


def write(root: Path, absolute: str, text: str = "") -> Path:
    path = root / absolute.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def manifest(root: Path, folder: str, name: str, library: str) -> None:
    body = {"name": name, "description": name, "type": "pkcs11", "path": library,
            "allowed_extensions": []}
    write(root, f"{folder}/{name}.json", json.dumps(body))


def native_firefox(root: Path) -> None:
    write(root, "/usr/lib/firefox/firefox", "ELF")


# --- Linux ----------------------------------------------------------------------------------


def test_linux_firefox_with_the_cps_manifest(tmp_path: Path) -> None:
    native_firefox(tmp_path)
    manifest(tmp_path, "/usr/lib/mozilla/pkcs11-modules", "cps3",
             "/usr/lib64/libcps3_pkcs11_lux.so")
    info = find_firefox("Linux", tmp_path, HOME)
    assert info.installed is True
    assert info.native_installed is True
    assert info.sandboxed is None
    assert info.cps_module_registered is True
    assert info.opensc_module_registered is False
    assert info.manifests == ["/usr/lib/mozilla/pkcs11-modules/cps3.json"]
    assert info.install_paths == ["/usr/lib/firefox/firefox"]


def test_linux_manifest_in_lib64_counts(tmp_path: Path) -> None:
    native_firefox(tmp_path)
    manifest(tmp_path, "/usr/lib64/mozilla/pkcs11-modules", "cps3",
             "/opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so")
    assert find_firefox("Linux", tmp_path, HOME).cps_module_registered is True


def test_linux_both_modules_registered(tmp_path: Path) -> None:
    native_firefox(tmp_path)
    manifest(tmp_path, "/usr/lib/mozilla/pkcs11-modules", "cps3",
             "/usr/lib64/libcps3_pkcs11_lux.so")
    manifest(tmp_path, "/usr/lib/mozilla/pkcs11-modules", "onepin-opensc-pkcs11",
             "/usr/lib/x86_64-linux-gnu/onepin-opensc-pkcs11.so")
    info = find_firefox("Linux", tmp_path, HOME)
    assert info.cps_module_registered is True
    assert info.opensc_module_registered is True
    assert len(info.manifests) == 2


def test_manifest_is_recognised_by_its_library_path(tmp_path: Path) -> None:
    native_firefox(tmp_path)
    manifest(tmp_path, "/usr/lib/mozilla/pkcs11-modules", "sante",
             "/opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so")
    assert find_firefox("Linux", tmp_path, HOME).cps_module_registered is True


def test_unreadable_manifest_is_judged_by_its_name(tmp_path: Path) -> None:
    native_firefox(tmp_path)
    write(tmp_path, "/usr/lib/mozilla/pkcs11-modules/cps3.json", "{not json")
    info = find_firefox("Linux", tmp_path, HOME)
    assert info.cps_module_registered is True


def test_linux_without_manifest_is_known_to_miss_the_module(tmp_path: Path) -> None:
    native_firefox(tmp_path)
    info = find_firefox("Linux", tmp_path, HOME)
    assert info.installed is True
    assert info.cps_module_registered is False
    assert info.opensc_module_registered is False


def test_module_loaded_in_a_profile_counts_as_registered(tmp_path: Path) -> None:
    native_firefox(tmp_path)
    write(
        tmp_path,
        "/home/alice/.mozilla/firefox/abcd.default-release/pkcs11.txt",
        "library=\nname=NSS Internal PKCS #11 Module\n\n"
        "library=/usr/lib64/libcps3_pkcs11_lux.so\nname=CPS\n",
    )
    info = find_firefox("Linux", tmp_path, HOME)
    assert info.cps_module_registered is True
    assert info.profiles_checked == ["/home/alice/.mozilla/firefox/abcd.default-release/pkcs11.txt"]


def test_user_manifest_directory_is_read(tmp_path: Path) -> None:
    native_firefox(tmp_path)
    manifest(tmp_path, "/home/alice/.mozilla/pkcs11-modules", "opensc",
             "/usr/lib/opensc-pkcs11.so")
    info = find_firefox("Linux", tmp_path, HOME)
    assert info.opensc_module_registered is True
    assert info.cps_module_registered is False


def test_snap_firefox_is_sandboxed(tmp_path: Path) -> None:
    (tmp_path / "snap/firefox/current").mkdir(parents=True)
    write(tmp_path, "/usr/bin/firefox", "#!/bin/sh\nexec /snap/bin/firefox \"$@\"\n")
    info = find_firefox("Linux", tmp_path, HOME)
    assert info.installed is True
    assert info.sandboxed == "snap"
    # The /usr/bin/firefox wrapper of Ubuntu is not a regular Firefox.
    assert info.native_installed is False


def test_flatpak_firefox_system_wide_and_per_user(tmp_path: Path) -> None:
    (tmp_path / "var/lib/flatpak/app/org.mozilla.firefox").mkdir(parents=True)
    assert find_firefox("Linux", tmp_path, HOME).sandboxed == "flatpak"

    other = tmp_path / "other"
    (other / "home/alice/.local/share/flatpak/app/org.mozilla.firefox").mkdir(parents=True)
    info = find_firefox("Linux", other, HOME)
    assert info.sandboxed == "flatpak"
    assert info.installed is True


def test_no_firefox_on_linux(tmp_path: Path) -> None:
    manifest(tmp_path, "/usr/lib/mozilla/pkcs11-modules", "cps3",
             "/usr/lib64/libcps3_pkcs11_lux.so")
    info = find_firefox("Linux", tmp_path, {})
    assert info.installed is False
    assert info.sandboxed is None


# --- macOS and Windows: registration not found means unknown ---------------------------------


def test_macos_firefox_without_visible_registration_is_unknown(tmp_path: Path) -> None:
    (tmp_path / "Applications/Firefox.app").mkdir(parents=True)
    info = find_firefox("Darwin", tmp_path, {"HOME": "/Users/alice"})
    assert info.installed is True
    assert info.cps_module_registered is None
    assert info.opensc_module_registered is None
    assert info.install_paths == ["/Applications/Firefox.app"]


def test_macos_profile_shows_the_cps_module(tmp_path: Path) -> None:
    (tmp_path / "Applications/Firefox.app").mkdir(parents=True)
    write(
        tmp_path,
        "/Users/alice/Library/Application Support/Firefox/Profiles/x.default/pkcs11.txt",
        "library=/usr/local/lib/libcps3_pkcs11_osx.dylib\nname=CPS\n",
    )
    info = find_firefox("Darwin", tmp_path, {"HOME": "/Users/alice"})
    assert info.cps_module_registered is True
    assert info.opensc_module_registered is None


def test_windows_firefox_in_program_files(tmp_path: Path) -> None:
    write(tmp_path, "/Program Files/Mozilla Firefox/firefox.exe", "MZ")
    env = {"ProgramFiles": r"C:\Program Files", "APPDATA": r"C:\Users\alice\AppData\Roaming"}
    info = find_firefox("Windows", tmp_path, env)
    assert info.installed is True
    assert info.install_paths == [r"C:\Program Files\Mozilla Firefox\firefox.exe"]
    assert info.cps_module_registered is None


def test_windows_profile_shows_the_cps_module(tmp_path: Path) -> None:
    write(tmp_path, "/Program Files/Mozilla Firefox/firefox.exe", "MZ")
    write(
        tmp_path,
        "/Users/alice/AppData/Roaming/Mozilla/Firefox/Profiles/y.default/pkcs11.txt",
        "library=C:\\Windows\\System32\\cps3_pkcs11_w64.dll\nname=CPS\n",
    )
    env = {"APPDATA": r"C:\Users\alice\AppData\Roaming"}
    info = find_firefox("Windows", tmp_path, env)
    assert info.cps_module_registered is True
    assert info.profiles_checked == [
        r"C:\Users\alice\AppData\Roaming\Mozilla\Firefox\Profiles\y.default\pkcs11.txt"
    ]


def test_windows_without_firefox(tmp_path: Path) -> None:
    info = find_firefox("Windows", tmp_path, {"ProgramFiles": r"C:\Program Files"})
    assert info.installed is False
