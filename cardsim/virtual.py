"""A virtual ISO 7816 card built from a card profile (JSON in ``cardsim/profiles``).

The model is generic — file tree, applications, PIN objects, logical channels, T=0 answers — and
the profile carries everything card-specific, so the same class models a CPS3, a CPS4, a Vitale
card or a foreign card. It answers *any* command the way the modelled card would, including the
harmful ones: a VERIFY with a wrong PIN really decrements the counter, an UPDATE BINARY really
changes the file. That is deliberate: if the tool ever sent one, the card's state and its log
would show it.

Profile format ``diagcps-card-profile`` version 1 (all binary values in hex)::

    {"format": "diagcps-card-profile", "version": 1, "name": ..., "provenance": ...,
     "atr": "3BAC...", "t0": true,
     "files": [{"path": "3F00"}, {"path": "3F00/D003", "sfi": 28, "data": "5A0A...",
                "fcp": "62..."},
               {"path": "3F00/0001", "aid": "E828BD..."}, {"path": "...", "read": "pin"}],
     "applications": [{"aid": "8025000001FF0100", "path": "3F00", "channels": [0, 1]},
                      {"aid": "8025000001FF0002", "mode": "cps2ter"}],
     "pins": [{"ref": 1, "max": 3, "remaining": 3, "usage_max": null, "usage_remaining": null,
               "verified": false, "value": "31323334", "extra": "A1088C06..."}],
     "quirks": {"pin_data_needs_mf": true, "cps2ter_selected": false,
                "verify_needs_application": null, "lost_selection": false,
                "select_p2_00": "reject", "get_data_pin": true, "max_read": 231}}

CPS4 quirks (the card as the official Cryptolib's own traffic shows it, CPS-CARD.md 3.2):
``"basic_channel": "cps2ter"`` -- the CPS2ter emulation holds the basic channel from power-on:
an interindustry command there answers ``6E 00`` (what a real card answers is not published; the
reading must never depend on it), only a SELECT by AID is honoured (the CPS2ter AID, or ``6A 82``
for an application not offered on that channel), and class ``A0`` goes to a small CPS2ter model
(``"cps2ter": {"files": {"<fid>": "<hex>"}, "selected": "<fid>"}``: SELECT ``A0 A4 00 00 02``,
READ BINARY ``A0 B0``; file identifiers and contents invented). ``"select_p1"`` /
``"select_p2"``: the only SELECT forms of a file the card accepts (others answer ``6A 86``);
``"select_p2_00": "fci"`` answers P2 ``00`` with an FCI template ``6F``. ``lost_selection``: the
SELECT of the application on a logical channel answers ``69 85`` until the recovery sequence
(security domain on channel 1, CPS2ter part on channel 0), after which the Cryptolib selects it
again; a card answering ``69 85`` to a later command is not read by the Cryptolib 5.2.2 at all.

A file without ``data`` is a DF. ``read`` is ``"always"`` (default) or ``"pin"`` (needs PIN
ref 1 verified, like the practice situations of a CPS). ``max_read``: the most bytes one READ
BINARY gives (a larger Le answers ``6Cxx``); unlimited when absent. A generated FCP carries the
IAS-ECC security attributes (``A1``: ``8C``/``9C`` compact form) and life cycle (``8A 05``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apdu.command import CommandApdu
from apdu.errors import ApduError, ProfileError
from apdu.response import ResponseApdu

FORMAT = "diagcps-card-profile"
VERSION = 1
MF = "3F00"

# Status words the model answers with (ISO 7816-4 table 5-6).
SW_OK = 0x9000
SW_END_OF_FILE = 0x6282
SW_WRONG_LENGTH = 0x6700
SW_SECURITY = 0x6982
SW_BLOCKED = 0x6983
SW_CONDITIONS = 0x6985
SW_NO_EF = 0x6986
SW_WRONG_DATA = 0x6A80
SW_NOT_FOUND = 0x6A82
SW_WRONG_P1P2 = 0x6A86
SW_DATA_NOT_FOUND = 0x6A88
SW_OFFSET = 0x6B00
SW_INS = 0x6D00
SW_CLA = 0x6E00


@dataclass
class FileNode:
    path: str
    data: bytes | None = None
    sfi: int | None = None
    aid: bytes | None = None
    read: str = "always"
    #: The FCP the card returns, when the profile gives one (else built from the fields above).
    fcp: bytes | None = None

    @property
    def is_df(self) -> bool:
        return self.data is None

    @property
    def fid(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def parent(self) -> str | None:
        return self.path.rsplit("/", 1)[0] if "/" in self.path else None


@dataclass
class PinObject:
    ref: int
    max: int
    remaining: int
    usage_max: int | None = None
    usage_remaining: int | None = None
    verified: bool = False
    value: bytes | None = None
    #: Further objects the card puts in the A0 template (access rules such as A1 8C ...).
    extra: bytes = b""

    @property
    def blocked(self) -> bool:
        return self.remaining == 0 or self.usage_remaining == 0


@dataclass
class Application:
    aid: bytes
    path: str | None = None
    mode: str | None = None
    channels: tuple[int, ...] = (0, 1, 2, 3)


@dataclass
class ChannelState:
    current_df: str = MF
    current_ef: str | None = None
    application: Application | None = None


@dataclass
class LogEntry:
    kind: str  # "apdu", "power_on", "power_off", "reset"
    command: bytes = b""
    response: bytes = b""
    at: float = field(default_factory=time.monotonic)


class VirtualCard:
    """A card model that implements :class:`apdu.cardmodel.CardModel`."""

    def __init__(self, profile: dict[str, Any]) -> None:
        try:
            self._load(profile)
        except ProfileError:
            raise
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise ProfileError(f"malformed card profile: {exc}") from exc
        self.log: list[LogEntry] = []
        self._pending: dict[int, bytes] = {}
        self._reset_state()

    # --- loading -------------------------------------------------------------------------------

    def _load(self, profile: dict[str, Any]) -> None:
        if profile.get("format") != FORMAT or profile.get("version") != VERSION:
            raise ProfileError("not a diagcps card profile of version 1")
        self.name: str = profile.get("name", "")
        self.provenance: str = profile.get("provenance", "")
        self._atr = bytes.fromhex(profile["atr"])
        self.t0: bool = bool(profile.get("t0", True))
        self.files: dict[str, FileNode] = {}
        for item in profile.get("files", []):
            path = _norm_path(item["path"])
            data = item.get("data")
            self.files[path] = FileNode(
                path=path,
                data=bytes.fromhex(data) if data is not None else None,
                sfi=item.get("sfi"),
                aid=bytes.fromhex(item["aid"]) if item.get("aid") else None,
                read=item.get("read", "always"),
                fcp=bytes.fromhex(item["fcp"]) if item.get("fcp") else None,
            )
        if MF not in self.files:
            self.files[MF] = FileNode(MF)
        self.applications = [
            Application(
                aid=bytes.fromhex(a["aid"]),
                path=_norm_path(a["path"]) if a.get("path") else None,
                mode=a.get("mode"),
                channels=tuple(a.get("channels", (0, 1, 2, 3))),
            )
            for a in profile.get("applications", [])
        ]
        for node in self.files.values():
            if node.aid is not None:
                self.applications.append(Application(aid=node.aid, path=node.path))
        self.pins: dict[int, PinObject] = {}
        for p in profile.get("pins", []):
            value = p.get("value")
            self.pins[int(p["ref"])] = PinObject(
                ref=int(p["ref"]),
                max=int(p["max"]),
                remaining=int(p["remaining"]),
                usage_max=p.get("usage_max"),
                usage_remaining=p.get("usage_remaining"),
                verified=bool(p.get("verified", False)),
                value=bytes.fromhex(value) if value else None,
                extra=bytes.fromhex(p.get("extra", "")),
            )
        self.quirks: dict[str, Any] = dict(profile.get("quirks", {}))
        self._initially_verified = {ref for ref, pin in self.pins.items() if pin.verified}

    @classmethod
    def from_file(cls, path: str | Path) -> VirtualCard:
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ProfileError(f"cannot load card profile {path}: {exc}") from exc
        return cls(doc)

    # --- CardModel -----------------------------------------------------------------------------

    @property
    def atr(self) -> bytes:
        return self._atr

    def power_on(self) -> None:
        self.log.append(LogEntry("power_on"))
        self._reset_state()

    def power_off(self) -> None:
        self.log.append(LogEntry("power_off"))
        self._reset_state()

    def reset(self) -> None:
        self.log.append(LogEntry("reset"))
        self._reset_state()

    def process(self, command: bytes) -> bytes:
        try:
            apdu = CommandApdu.from_bytes(command)
            response = self._dispatch(apdu)
        except ApduError:
            response = ResponseApdu.status(SW_WRONG_LENGTH)
        raw = response.to_bytes()
        self.log.append(LogEntry("apdu", bytes(command), raw))
        return raw

    # --- introspection for tests -----------------------------------------------------------------

    def commands(self) -> list[bytes]:
        return [e.command for e in self.log if e.kind == "apdu"]

    def pin_counters(self) -> dict[int, tuple[int, int | None, bool]]:
        return {ref: (p.remaining, p.usage_remaining, p.verified) for ref, p in self.pins.items()}

    # --- state -----------------------------------------------------------------------------------

    def _reset_state(self) -> None:
        """A power cycle: selections and pending data are lost, PIN verification too."""
        self.channels: dict[int, ChannelState] = {0: ChannelState()}
        self._pending = {}
        self._cps2ter_selected = bool(self.quirks.get("cps2ter_selected"))
        self._selection_lost = bool(self.quirks.get("lost_selection"))
        self._recovery: list[bytes] = []
        self._cps2ter_holds_basic = self.quirks.get("basic_channel") == "cps2ter"
        cps2ter = self.quirks.get("cps2ter") or {}
        self.cps2ter_files: dict[str, bytes] = {
            fid.upper(): bytes.fromhex(data) for fid, data in cps2ter.get("files", {}).items()}
        self.cps2ter_selected_file: str | None = cps2ter.get("selected")
        for pin in getattr(self, "pins", {}).values():
            pin.verified = False
        # A profile can model "another program already logged in": the verification survives
        # only until the first reset or power-off the card receives.
        if self.log and any(e.kind in ("reset", "power_off") for e in self.log):
            return
        for ref in getattr(self, "_initially_verified", ()):
            self.pins[ref].verified = True

    # --- dispatch --------------------------------------------------------------------------------

    def _dispatch(self, apdu: CommandApdu) -> ResponseApdu:
        if apdu.cla & 0x80 and apdu.cla != 0xA0:
            return ResponseApdu.status(SW_CLA)
        if apdu.cla == 0xA0:
            if self._cps2ter_holds_basic:
                return self._cps2ter(apdu)
            # The CPS2ter-compatible part speaks class A0 and answers in its own 9Fxx/98xx style.
            return ResponseApdu.status(0x6E00 if not self.quirks.get("cps2ter_part") else 0x9404)
        channel = apdu.channel
        if channel == 0 and self._cps2ter_holds_basic:
            return self._basic_channel(apdu)
        if channel not in self.channels:
            if apdu.ins != 0xA4:
                return ResponseApdu.status(0x6881)  # logical channel not supported / not open
            # A SELECT opens the channel (no MANAGE CHANNEL needed) only when it succeeds.
            self.channels[channel] = ChannelState()
            response = self._select(apdu, channel)
            if response.sw1 not in (0x90, 0x61):
                del self.channels[channel]
            return response
        if self._cps2ter_selected and channel == 0 and not self._is_ias_select(apdu):
            # Another program left the CPS2ter part selected: interindustry class is refused.
            return ResponseApdu.status(SW_CLA)
        if apdu.ins == 0xC0:
            return self._get_response(apdu, channel)
        self._pending.pop(channel, None)
        handler = {
            0xA4: self._select,
            0xB0: self._read_binary,
            0xCB: self._get_data,
            0xCA: self._get_data,
            0x20: self._verify,
            0xD6: self._update_binary,
            0x24: self._change_reference_data,
            0x2C: self._reset_retry_counter,
        }.get(apdu.ins)
        if handler is None:
            return ResponseApdu.status(SW_INS)
        return handler(apdu, channel)

    def _is_ias_select(self, apdu: CommandApdu) -> bool:
        app = self._application(apdu.data) if apdu.ins == 0xA4 and apdu.p1 == 0x04 else None
        return app is not None and app.mode != "cps2ter"

    def _answer(self, channel: int, data: bytes, case4: bool, le: int | None) -> ResponseApdu:
        """Return data the way T=0 does: a case 4 command announces it with 61xx."""
        if not data:
            return ResponseApdu.status(SW_OK)
        if self.t0 and case4:
            self._pending[channel] = data
            return ResponseApdu.status(0x6100 | (len(data) if len(data) < 256 else 0))
        if le is None:
            # T=1 carries the APDU as it is: without Le the host expects no data (Ne = 0).
            return ResponseApdu.status(SW_OK)
        if le < len(data):
            return ResponseApdu(data[:le], 0x90, 0x00)
        return ResponseApdu(data, 0x90, 0x00)

    def _get_response(self, apdu: CommandApdu, channel: int) -> ResponseApdu:
        pending = self._pending.pop(channel, None)
        if not pending:
            return ResponseApdu.status(0x6985)
        le = apdu.le or 256
        if le > len(pending):
            self._pending[channel] = pending
            return ResponseApdu.status(0x6C00 | len(pending))
        chunk, rest = pending[:le], pending[le:]
        if rest:
            self._pending[channel] = rest
            return ResponseApdu(chunk, 0x61, len(rest) if len(rest) < 256 else 0)
        return ResponseApdu(chunk, 0x90, 0x00)

    # --- SELECT ----------------------------------------------------------------------------------

    def _application(self, aid: bytes) -> Application | None:
        for app in self.applications:
            if app.aid == aid:
                return app
        return None

    def _select(self, apdu: CommandApdu, channel: int) -> ResponseApdu:
        state = self.channels[channel]
        if apdu.p2 not in (0x00, 0x04, 0x0C):
            return ResponseApdu.status(SW_WRONG_P1P2)
        if apdu.p2 == 0x00 and self.quirks.get("select_p2_00", "reject") == "reject" \
                and apdu.p1 != 0x04:
            return ResponseApdu.status(SW_WRONG_P1P2)
        if apdu.p1 != 0x04 and (apdu.p1 not in self.quirks.get("select_p1", (apdu.p1,))
                                or apdu.p2 not in self.quirks.get("select_p2", (apdu.p2,))):
            return ResponseApdu.status(SW_WRONG_P1P2)
        if apdu.p1 == 0x04:
            app = self._application(apdu.data)
            if app is None or channel not in app.channels:
                return ResponseApdu.status(SW_NOT_FOUND)
            self._recovery.append(app.aid)
            if app.mode == "cps2ter":
                self._cps2ter_selected = channel == 0 or self._cps2ter_selected
                return ResponseApdu.status(SW_OK)
            if app.mode == "gp":
                return ResponseApdu.status(SW_OK)
            if channel == 0:
                self._cps2ter_selected = False
            if self._selection_lost and channel != 0:
                # CPS4: the ChipDoc selection was lost; it comes back only after the recovery
                # sequence (security domain on channel 1, CPS2ter part on channel 0).
                if not self._recovered(app, channel):
                    return ResponseApdu.status(SW_CONDITIONS)
                self._selection_lost = False
            state.application = app
            if app.path is None:
                return ResponseApdu.status(SW_OK)
            state.current_df, state.current_ef = app.path, None
            node = self.files[app.path]
            return self._answer(channel, self._fcp(node) if apdu.p2 == 0x04 else b"",
                                True, apdu.le)
        path = self._resolve(apdu.p1, apdu.data, state.current_df)
        if path is None:
            return ResponseApdu.status(SW_WRONG_P1P2 if path is None and apdu.p1 not in
                                       (0x00, 0x01, 0x02, 0x08, 0x09) else SW_NOT_FOUND)
        node = self.files.get(path)
        if node is None:
            return ResponseApdu.status(SW_NOT_FOUND)
        if node.is_df:
            state.current_df, state.current_ef = node.path, None
        else:
            state.current_df, state.current_ef = node.parent or MF, node.path
        return self._answer(channel, self._select_answer(node, apdu.p2), True, apdu.le)

    def _select_answer(self, node: FileNode, p2: int) -> bytes:
        if p2 == 0x04:
            return self._fcp(node)
        if p2 == 0x00 and self.quirks.get("select_p2_00") == "fci":
            # FCI: the file control parameters inside a 6F template (ISO 7816-4 5.3.3).
            fcp = self._fcp(node)
            body = fcp[2:]
            return bytes((0x6F, len(body))) + body
        return b""

    def _recovered(self, app: Application, channel: int) -> bool:
        # CPS4: a lost ChipDoc selection comes back only through the recovery sequence the
        # Cryptolib runs: security domain on channel 1, CPS2ter part, then ChipDoc on channel 1.
        modes = [self._application(aid) for aid in self._recovery[:-1]]
        return (channel == 1 and app.mode is None
                and any(m is not None and m.mode == "gp" for m in modes)
                and any(m is not None and m.mode == "cps2ter" for m in modes))

    def _resolve(self, p1: int, data: bytes, current_df: str) -> str | None:
        if len(data) % 2 or (not data and p1 != 0x00):
            return None
        fids = [data[i : i + 2].hex().upper() for i in range(0, len(data), 2)]
        if p1 == 0x00:
            if not fids or fids == [MF]:
                return MF
            if len(fids) != 1:
                return None
            return self._child(current_df, fids[0])
        if p1 in (0x01, 0x02):
            return self._child(current_df, fids[0]) if len(fids) == 1 else None
        if p1 == 0x08:
            return "/".join([MF, *fids])
        if p1 == 0x09:
            if fids[0] == MF:
                return "/".join(fids)
            return "/".join([current_df, *fids])
        return None

    def _child(self, df: str, fid: str) -> str:
        # A FID names a child of the current DF, or the current DF itself.
        if fid == df.rsplit("/", 1)[-1] and f"{df}/{fid}" not in self.files:
            return df
        return f"{df}/{fid}"

    @staticmethod
    def _fcp(node: FileNode) -> bytes:
        if node.fcp is not None:
            return node.fcp
        fid = bytes.fromhex(node.fid)
        if node.is_df:
            body = b"\x82\x01\x38\x83\x02" + fid
            if node.aid:
                body += bytes((0x84, len(node.aid))) + node.aid
        else:
            assert node.data is not None
            body = b"\x80\x02" + len(node.data).to_bytes(2, "big") + b"\x82\x01\x01\x83\x02" + fid
            if node.sfi is not None:
                body += bytes((0x88, 0x01, (node.sfi << 3) & 0xFF))
        # IAS-ECC FCPs carry the security attributes in compact form (A1 > 8C contact, 9C
        # contactless: access mode byte 7B, then one condition per operation, READ last) and the
        # life cycle "operational, activated" (8A 05), as the public CPx traces show. Middleware
        # such as OpenSC's iasecc driver refuses an FCP without them.
        read = 0x12 if node.read == "pin" else 0x00  # user authentication (PIN, SE 2) / always
        rules = bytes((0x7B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, read))
        body += (bytes((0xA1, 2 * (2 + len(rules)), 0x8C, len(rules))) + rules
                 + bytes((0x9C, len(rules))) + rules + b"\x8A\x01\x05")
        return bytes((0x62, len(body))) + body

    # --- CPS4: the CPS2ter emulation on the basic channel -------------------------------------

    def _basic_channel(self, apdu: CommandApdu) -> ResponseApdu:
        """Channel 0 while the CPS2ter emulation holds it: only a SELECT by AID is honoured."""
        if apdu.ins != 0xA4 or apdu.p1 != 0x04:
            return ResponseApdu.status(SW_CLA)
        app = self._application(apdu.data)
        if app is None or 0 not in app.channels:
            return ResponseApdu.status(SW_NOT_FOUND)
        self._recovery.append(app.aid)
        if app.mode == "cps2ter":
            # The CPS2ter part starts again from its root: its file selection is gone.
            self.cps2ter_selected_file = None
        return ResponseApdu.status(SW_OK)

    def _cps2ter(self, apdu: CommandApdu) -> ResponseApdu:
        """A small model of the CPS2ter part: enough for another program to keep a state."""
        if apdu.ins == 0xA4 and len(apdu.data) == 2:
            fid = apdu.data.hex().upper()
            if fid not in self.cps2ter_files:
                return ResponseApdu.status(0x9404)
            self.cps2ter_selected_file = fid
            return ResponseApdu.status(SW_OK)
        if apdu.ins == 0xB0:
            if self.cps2ter_selected_file is None:
                return ResponseApdu.status(0x9400)
            data = self.cps2ter_files[self.cps2ter_selected_file]
            offset = (apdu.p1 << 8) | apdu.p2
            if offset > len(data):
                return ResponseApdu.status(0x9402)
            le = apdu.le if apdu.le is not None else 256
            return ResponseApdu(data[offset:offset + le], 0x90, 0x00)
        return ResponseApdu.status(0x6D00)

    # --- READ BINARY -----------------------------------------------------------------------------

    def _read_binary(self, apdu: CommandApdu, channel: int) -> ResponseApdu:
        state = self.channels[channel]
        if apdu.p1 & 0x80:
            sfi = apdu.p1 & 0x1F
            node = next((n for n in self.files.values()
                         if n.sfi == sfi and not n.is_df
                         and (n.parent or MF) == state.current_df), None)
            if node is None:
                node = next((n for n in self.files.values() if n.sfi == sfi and not n.is_df),
                            None)
            if node is None:
                return ResponseApdu.status(SW_NOT_FOUND)
            state.current_ef = node.path
            offset = apdu.p2
        else:
            if state.current_ef is None:
                return ResponseApdu.status(SW_NO_EF)
            node = self.files[state.current_ef]
            offset = (apdu.p1 << 8) | apdu.p2
        if node.read == "pin" and not self._pin_verified(1):
            return ResponseApdu.status(SW_SECURITY)
        assert node.data is not None
        if offset > len(node.data) or (offset == len(node.data) and node.data):
            return ResponseApdu.status(SW_OFFSET)
        available = node.data[offset:]
        if not available:
            # An empty EF: "6C00" would send T=0 hosts round in circles (it means Le=256).
            return ResponseApdu.status(SW_END_OF_FILE)
        le = apdu.le if apdu.le is not None else 256
        if le > len(available):
            # T=0: the card names the length it can give and expects the command again.
            return ResponseApdu.status(0x6C00 | len(available))
        max_read = self.quirks.get("max_read")
        if max_read and le > max_read:
            # A card that gives at most max_read bytes a READ BINARY (E7 on a CPS3) names
            # that length the same way.
            return ResponseApdu.status(0x6C00 | max_read)
        return ResponseApdu(available[:le], 0x90, 0x00)

    def _pin_verified(self, ref: int) -> bool:
        pin = self.pins.get(ref)
        return bool(pin and pin.verified)

    # --- GET DATA (PIN object information) -------------------------------------------------------

    def _get_data(self, apdu: CommandApdu, channel: int) -> ResponseApdu:
        if not self.quirks.get("get_data_pin", True):
            return ResponseApdu.status(SW_DATA_NOT_FOUND)
        # IAS-ECC: 00 CB 3F FF 0A 4D 08 70 06 BF 81 <ref> 02 A0 80
        data = apdu.data
        if apdu.ins != 0xCB or (apdu.p1, apdu.p2) != (0x3F, 0xFF) or len(data) < 10 \
                or data[:6] != bytes.fromhex("4D087006BF81") or data[7:] != b"\x02\xa0\x80":
            return ResponseApdu.status(SW_DATA_NOT_FOUND)
        if self.quirks.get("pin_data_needs_mf", True) and self.channels[channel].current_df != MF:
            return ResponseApdu.status(SW_DATA_NOT_FOUND)
        pin = self.pins.get(data[6])
        if pin is None:
            return ResponseApdu.status(SW_DATA_NOT_FOUND)
        body = bytes((0x9A, 1, pin.max, 0x9B, 1, pin.remaining))
        if pin.usage_max is not None:
            body += bytes((0x9C, 1, pin.usage_max))
        if pin.usage_remaining is not None:
            usage = pin.usage_remaining.to_bytes(2 if pin.usage_remaining > 255 else 1, "big")
            body += bytes((0x9D, len(usage))) + usage
        body += pin.extra
        a0 = bytes((0xA0, len(body))) + body
        bf = bytes((0xBF, 0x81, pin.ref, len(a0))) + a0
        return self._answer(channel, bytes((0x70, len(bf))) + bf, True, apdu.le)

    # --- PIN commands (modelled so that harm is visible) -----------------------------------------

    def _verify(self, apdu: CommandApdu, channel: int) -> ResponseApdu:
        need = self.quirks.get("verify_needs_application")
        if need is not None:
            app = self.channels[channel].application
            if app is None or app.aid.hex().upper() != need.upper():
                return ResponseApdu.status(SW_DATA_NOT_FOUND)
        pin = self.pins.get(apdu.p2 & 0x7F)
        if pin is None:
            return ResponseApdu.status(SW_DATA_NOT_FOUND)
        if not apdu.data:
            if pin.verified:
                return ResponseApdu.status(SW_OK)
            if pin.blocked:
                return ResponseApdu.status(SW_BLOCKED)
            return ResponseApdu.status(0x63C0 | min(pin.remaining, 15))
        if pin.blocked:
            return ResponseApdu.status(SW_BLOCKED)
        if pin.value is not None and apdu.data == pin.value:
            pin.remaining = pin.max
            pin.verified = True
            return ResponseApdu.status(SW_OK)
        pin.remaining -= 1
        pin.verified = False
        return ResponseApdu.status(SW_BLOCKED if pin.remaining == 0 else 0x63C0 | pin.remaining)

    def _update_binary(self, apdu: CommandApdu, channel: int) -> ResponseApdu:
        state = self.channels[channel]
        if state.current_ef is None:
            return ResponseApdu.status(SW_NO_EF)
        node = self.files[state.current_ef]
        assert node.data is not None
        offset = (apdu.p1 << 8) | apdu.p2
        node.data = node.data[:offset] + apdu.data + node.data[offset + len(apdu.data):]
        return ResponseApdu.status(SW_OK)

    def _change_reference_data(self, apdu: CommandApdu, channel: int) -> ResponseApdu:
        return self._verify(CommandApdu(apdu.cla, 0x20, 0, apdu.p2, apdu.data[:8] or b"\0"),
                            channel)

    def _reset_retry_counter(self, apdu: CommandApdu, channel: int) -> ResponseApdu:
        puk = next((p for p in self.pins.values() if p.ref != (apdu.p2 & 0x7F)), None)
        if puk is None:
            return ResponseApdu.status(SW_DATA_NOT_FOUND)
        return self._verify(CommandApdu(apdu.cla, 0x20, 0, puk.ref, apdu.data[:8] or b"\0"),
                            channel)


def _norm_path(path: str) -> str:
    return "/".join(part.upper() for part in path.replace(" ", "").strip("/").split("/"))
