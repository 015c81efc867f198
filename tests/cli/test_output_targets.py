"""``--output`` and ``--record`` never replace anything but a regular file of the user's own.

* a device or a FIFO is written in place (``/dev/null``, a named pipe), a device that fails
  (``/dev/full``) gives one line, last on the screen, and exit 2;
* a symbolic link is followed only to a device or a FIFO; a link to a file, a folder, a block
  device, a socket, a file of another user are refused before the diagnosis;
* the same file twice, or the input, is refused before anything runs; ``-`` is standard output.

The device tests run as root in a private mount namespace, on device nodes made with mknod in a
tmpfs of their own: the machine's /dev is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from diagcps import outputs
from diagcps.cli import main

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-11-28T09:00:00"
HEALTHY = ROOT / "fixtures" / "transcripts" / "cps3-healthy.json"


def _invoke(*args: str) -> Any:
    # French, the default language, whatever the locale the suite runs in.
    return CliRunner().invoke(main, [*args, "--now", NOW, "--lang", "fr"])


# --- refused before anything runs ---------------------------------------------------------------

def test_replay_refuses_to_write_over_its_own_transcript(tmp_path: Path) -> None:
    transcript = tmp_path / "same.json"
    shutil.copy(HEALTHY, transcript)
    before = transcript.read_bytes()
    for target in (str(transcript), str(tmp_path / "." / "same.json")):
        result = _invoke("replay", str(transcript), "-o", target)
        assert result.exit_code == 2
        assert result.stderr.count("\n") == 1 and "est aussi TRANSCRIPT" in result.stderr
    os.link(transcript, tmp_path / "hard.json")  # the same file under another name
    result = _invoke("replay", str(transcript), "-o", str(tmp_path / "hard.json"))
    assert result.exit_code == 2
    assert transcript.read_bytes() == before


def test_check_refuses_the_same_file_for_the_report_and_the_transcript(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    result = _invoke("check", "--virtual-card", "cps3-healthy", "-o", str(target),
                     "--record", str(target))
    assert result.exit_code == 2
    assert "un fichier chacun" in result.stderr and result.stderr.count("\n") == 1
    assert not target.exists()
    assert "Diagnostic" not in result.stdout  # refused before the diagnosis


def test_json_and_a_transcript_on_stdout_are_refused() -> None:
    result = _invoke("check", "--virtual-card", "cps3-healthy", "--json", "--record", "-")
    assert result.exit_code == 2 and "sortie standard" in result.stderr


@pytest.mark.parametrize("kind", ["link to a file", "dangling link", "folder", "socket"])
def test_what_is_not_a_file_of_ours_is_refused_in_one_line(tmp_path: Path, kind: str) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    target = tmp_path / "target"
    if kind == "link to a file":
        target.symlink_to(victim)
    elif kind == "dangling link":
        target.symlink_to(tmp_path / "nowhere")
    elif kind == "folder":
        target.mkdir()
    else:
        import socket

        server = socket.socket(socket.AF_UNIX)
        server.bind(str(target))
        server.close()
    for option in ("--output", "--record"):
        result = _invoke("check", "--virtual-card", "cps3-healthy", option, str(target))
        assert result.exit_code == 2, (kind, option, result.output)
        assert "Traceback" not in result.output
        assert "Diagnostic" not in result.stdout
    assert victim.read_text() == "precious\n"
    assert target.is_symlink() or target.is_dir() or target.is_socket()


def test_dash_writes_the_report_on_stdout_and_the_view_on_stderr() -> None:
    result = _invoke("replay", str(HEALTHY), "-o", "-")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["readers"][0]["card"]["serial"] == "99213845"
    assert "Diagnostic CPS" in result.stderr


def test_a_failed_write_never_claims_success_and_is_the_last_line(tmp_path: Path,
                                                                  mocker: Any) -> None:
    def disk_full(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    mocker.patch("apdu.transcript.write_atomic", side_effect=disk_full)
    target = tmp_path / "r.json"
    result = _invoke("replay", str(HEALTHY), "-o", str(target))
    assert result.exit_code == 2
    assert "Rapport écrit" not in result.output
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"diagcps : impossible d’écrire {target}")
    assert not target.exists()


def test_an_existing_report_of_ours_is_replaced_atomically(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    target.write_text("old")
    result = _invoke("replay", str(HEALTHY), "-o", str(target), "--json")
    assert result.exit_code == 0
    assert json.loads(target.read_text())["schema_version"] == "1"
    assert outputs.classify(str(target)).kind == "file"


# --- devices, FIFOs and links: as root, in a private mount namespace ----------------------------

_IN_NAMESPACE = r'''
import json, os, socket, stat, subprocess, sys, threading
root, transcript = sys.argv[1], sys.argv[2]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "diagcps-test", root], check=True)
node = lambda name: os.path.join(root, name)
os.mknod(node("null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
os.mknod(node("full"), 0o666 | stat.S_IFCHR, os.makedev(1, 7))
os.mknod(node("loop"), 0o600 | stat.S_IFBLK, os.makedev(7, 0))
os.mkfifo(node("fifo"))
os.symlink(node("null"), node("stdout-like"))
open(node("other.json"), "w").write("someone else's\n")
os.chown(node("other.json"), 4242, 4242)
results = {}

def run(name, *args):
    done = subprocess.run([sys.executable, "-m", "diagcps", *args, "--now",
                           "2026-11-28T09:00:00", "--lang", "fr"], capture_output=True,
                          text=True, timeout=60)
    results[name] = {"code": done.returncode, "stdout": done.stdout, "stderr": done.stderr}

def describe(name):
    info = os.lstat(node(name))
    return {"mode": stat.S_IFMT(info.st_mode), "rdev": info.st_rdev, "size": info.st_size}

before = {n: describe(n) for n in ("null", "full", "loop", "fifo", "stdout-like")}
run("null", "replay", transcript, "-o", node("null"))
run("full", "replay", transcript, "-o", node("full"))
run("record-null", "check", "--virtual-card", "cps3-healthy", "--record", node("null"),
    "--output", node("null"), "--json")
run("link-to-null", "replay", transcript, "-o", node("stdout-like"))
run("block", "replay", transcript, "-o", node("loop"))
run("other-user", "replay", transcript, "-o", node("other.json"))
received = []
reader = threading.Thread(target=lambda: received.append(open(node("fifo"), "rb").read()))
reader.start()
run("fifo", "replay", transcript, "-o", node("fifo"), "--json")
reader.join(30)
after = {n: describe(n) for n in before}
print(json.dumps({"results": results, "before": before, "after": after,
                  "fifo": (received[0] if received else b"").decode(),
                  "other": open(node("other.json")).read()}))
'''


def _namespace_ready() -> str | None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "needs root (device nodes are made with mknod)"
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return "needs unshare and mount (util-linux)"
    done = subprocess.run(["unshare", "-m", "--propagation", "private", "true"],
                          capture_output=True, check=False)
    if done.returncode != 0:
        return f"cannot make a private mount namespace: {done.stderr.decode().strip()}"
    return None


def test_devices_fifos_and_links_are_written_in_place_or_refused(tmp_path: Path) -> None:
    why = _namespace_ready()
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    mount_point = tmp_path / "dev"
    mount_point.mkdir()
    done = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable, "-c",
                           _IN_NAMESPACE, str(mount_point), str(HEALTHY)],
                          capture_output=True, text=True, timeout=240, check=False,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    results, before, after = seen["results"], seen["before"], seen["after"]
    assert before == after  # every node is still the node it was: nothing replaced

    assert results["null"]["code"] == 0
    assert "Rapport écrit dans" in results["null"]["stdout"]

    full = results["full"]
    assert full["code"] == 2
    assert "Rapport écrit" not in full["stdout"]
    assert full["stderr"].strip().splitlines()[-1].startswith("diagcps : impossible d’écrire")
    assert "No space left" in full["stderr"] and "Traceback" not in full["stderr"]

    assert results["record-null"]["code"] == 0, results["record-null"]
    assert results["link-to-null"]["code"] == 0, results["link-to-null"]
    for refused in ("block", "other-user"):
        assert results[refused]["code"] == 2, (refused, results[refused])
        assert results[refused]["stdout"] == ""  # refused before the diagnosis
        assert "Traceback" not in results[refused]["stderr"]
    assert seen["other"] == "someone else's\n"
    assert results["fifo"]["code"] == 0, results["fifo"]
    assert json.loads(seen["fifo"])["readers"][0]["card"]["serial"] == "99213845"
    # The machine's own device nodes were never involved.
    assert not mount_point.joinpath("null").exists()
