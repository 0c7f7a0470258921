"""The base of every path attribute class, and the table that maps type codes to classes.

Each attribute class knows its type code, its default flags, how to read and write its value and
what RFC 7606 says to do when its value is malformed. The UPDATE parser (``update.py``) owns the
framing of the attribute section and consults :data:`ATTRIBUTE_CLASSES`; codes missing from the
table decode to :class:`UnknownAttribute`, which keeps the flags and bytes and re-encodes them
unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from .errors import Action, UpdateSubcode
from .family import Context

OPTIONAL = 0x80
TRANSITIVE = 0x40
PARTIAL = 0x20
EXTENDED_LENGTH = 0x10

T = TypeVar("T", bound="PathAttribute")


class AttributeMalformed(Exception):
    """Raised inside ``decode_value``; the UPDATE parser turns it into a :class:`DecodeError`
    with the attribute's RFC 7606 action, its position and its bytes."""

    def __init__(self, reason: str, subcode: int = UpdateSubcode.ATTRIBUTE_LENGTH_ERROR) -> None:
        super().__init__(reason)
        self.reason = reason
        self.subcode = subcode


def flags_text(flags: int) -> str:
    names = []
    for bit, name in ((OPTIONAL, "O"), (TRANSITIVE, "T"), (PARTIAL, "P"), (EXTENDED_LENGTH, "E")):
        if flags & bit:
            names.append(name)
    return "".join(names) or "-"


class PathAttribute:
    """Base class: subclasses are frozen slotted dataclasses with a ``flags`` field last."""

    __slots__ = ()

    TYPE_CODE: ClassVar[int] = -1
    NAME: ClassVar[str] = "UNKNOWN"
    DEFAULT_FLAGS: ClassVar[int] = OPTIONAL | TRANSITIVE
    #: RFC 7606 treatment of a malformed value of this attribute
    MALFORMED_ACTION: ClassVar[Action] = Action.TREAT_AS_WITHDRAW
    #: the value depends on the 2-/4-octet AS context (so it is cached per context)
    AS_WIDTH_DEPENDENT: ClassVar[bool] = False

    flags: int

    @property
    def type_code(self) -> int:
        return self.TYPE_CODE

    @property
    def name(self) -> str:
        return self.NAME

    @classmethod
    def decode_value(cls: type[T], value: bytes, flags: int, ctx: Context) -> T:
        raise NotImplementedError

    def encode_value(self, ctx: Context) -> bytes:
        raise NotImplementedError

    def json_value(self) -> Any:
        raise NotImplementedError

    def encode(self, ctx: Context) -> bytes:
        """Flags, type code, length and value; Extended Length when the value is longer than
        255 octets or the attribute was received with it."""
        value = self.encode_value(ctx)
        flags = self.flags
        n = len(value)
        if n > 255 or flags & EXTENDED_LENGTH:
            return bytes((flags | EXTENDED_LENGTH, self.type_code)) + n.to_bytes(2, "big") + value
        return bytes((flags, self.type_code, n)) + value

    def to_json(self) -> dict[str, Any]:
        """``{"code", "name", "flags", "value"}`` (docs/json.md)."""
        return {
            "code": self.type_code,
            "name": self.name,
            "flags": flags_text(self.flags),
            "value": self.json_value(),
        }


ATTRIBUTE_CLASSES: dict[int, type[PathAttribute]] = {}


def register(cls: type[T]) -> type[T]:
    """Class decorator: enter an attribute class in the type-code table."""
    if cls.TYPE_CODE in ATTRIBUTE_CLASSES:
        raise RuntimeError(f"attribute code {cls.TYPE_CODE} registered twice")
    ATTRIBUTE_CLASSES[cls.TYPE_CODE] = cls
    return cls


@dataclass(frozen=True, slots=True)
class UnknownAttribute(PathAttribute):
    """An attribute bgpspeak does not interpret: kept with its flags, re-encoded unchanged."""

    code: int
    value: bytes
    flags: int = OPTIONAL | TRANSITIVE

    @property
    def type_code(self) -> int:
        return self.code

    @property
    def name(self) -> str:
        return ATTRIBUTE_NAMES.get(self.code, f"UNKNOWN_{self.code}")

    def encode_value(self, ctx: Context) -> bytes:
        return self.value

    def json_value(self) -> Any:
        return self.value.hex()

    def for_propagation(self) -> UnknownAttribute:
        """The copy to pass on to another peer (RFC 4271 section 5): optional transitive
        attributes get the Partial bit; non-transitive ones are not passed on at all."""
        return UnknownAttribute(self.code, self.value, self.flags | PARTIAL)


#: Names of attribute codes (IANA registry), also for codes kept as UnknownAttribute.
ATTRIBUTE_NAMES: dict[int, str] = {
    1: "ORIGIN",
    2: "AS_PATH",
    3: "NEXT_HOP",
    4: "MULTI_EXIT_DISC",
    5: "LOCAL_PREF",
    6: "ATOMIC_AGGREGATE",
    7: "AGGREGATOR",
    8: "COMMUNITIES",
    9: "ORIGINATOR_ID",
    10: "CLUSTER_LIST",
    14: "MP_REACH_NLRI",
    15: "MP_UNREACH_NLRI",
    16: "EXTENDED_COMMUNITIES",
    17: "AS4_PATH",
    18: "AS4_AGGREGATOR",
    20: "CONNECTOR",
    21: "AS_PATHLIMIT",
    22: "PMSI_TUNNEL",
    23: "TUNNEL_ENCAPSULATION",
    24: "TRAFFIC_ENGINEERING",
    25: "IPV6_EXTENDED_COMMUNITIES",
    26: "AIGP",
    27: "PE_DISTINGUISHER_LABELS",
    28: "ENTROPY_LABEL_CAPABILITY",
    29: "BGP_LS",
    32: "LARGE_COMMUNITY",
    33: "BGPSEC_PATH",
    34: "COMMUNITY_CONTAINER",
    35: "OTC",
    36: "D_PATH",
    37: "SFP",
    38: "BFD_DISCRIMINATOR",
    39: "NHC",
    40: "PREFIX_SID",
    128: "ATTR_SET",
}
