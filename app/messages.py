"""Client -> server control messages (docs/protocol.md), as pydantic models validated on arrival."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from app.lenses import LENS_NAMES
from simcore import KNOWN_PROC_FILES, MAX_TICKS, Action


def one_of(names: tuple[str, ...], what: str) -> AfterValidator:
    """A name from a registry (the registry is the one list; no Literal copy of it here)."""

    def check(value: str) -> str:
        if value not in names:
            raise PydanticCustomError("unknown_name", "unknown {what} (got '{got}', one of {names})",
                                      {"what": what, "got": value[:40], "names": ", ".join(names)})
        return value

    return AfterValidator(check)


LensName = Annotated[str, one_of(LENS_NAMES, "lens")]
ProcFile = Annotated[str, one_of(KNOWN_PROC_FILES, "file")]
Pfn = Annotated[int, Field(ge=0, le=1 << 32)]


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Ack(_Msg):
    type: Literal["ack"]
    seq: Annotated[int, Field(ge=0, le=0xFFFFFFFF)]


class Play(_Msg):
    type: Literal["play"]


class Pause(_Msg):
    type: Literal["pause"]


class Step(_Msg):
    type: Literal["step"]
    unit: Literal["tick", "compaction"] = "tick"


class Speed(_Msg):
    type: Literal["speed"]
    tps: Annotated[float, Field(ge=0.5, le=240)] | None = None
    ticks_per_frame: Annotated[int, Field(ge=1, le=1000)] | None = None

    @model_validator(mode="after")
    def _something(self) -> Speed:
        if self.tps is None and self.ticks_per_frame is None:
            raise ValueError("give tps and/or ticks_per_frame")
        return self


class Reset(_Msg):
    type: Literal["reset"]


class Seek(_Msg):
    type: Literal["seek"]
    tick: Annotated[int, Field(ge=0, le=MAX_TICKS)]


class DoAction(_Msg):
    type: Literal["action"]
    action: Action


class Lens(_Msg):
    type: Literal["lens"]
    lens: LensName


class ViewMsg(_Msg):
    type: Literal["view"]
    start_pfn: Pfn
    end_pfn: Pfn

    @model_validator(mode="after")
    def _ordered(self) -> ViewMsg:
        if self.end_pfn <= self.start_pfn:
            raise ValueError(f"end_pfn must be greater than start_pfn ({self.start_pfn})")
        return self


class Proc(_Msg):
    type: Literal["proc"]
    file: ProcFile


class Hover(_Msg):
    type: Literal["hover"]
    pfn: Pfn


class Cancel(_Msg):
    """Stop the fast-forward in progress (a seek, a link's start): the run stays where it got to."""

    type: Literal["cancel"]


class Link(_Msg):
    """The share link of the tick on screen (Copy link, Detach), with this server's verdict on it."""

    type: Literal["link"]


ClientMessage = Annotated[
    Ack | Play | Pause | Step | Speed | Reset | Seek | DoAction | Lens | ViewMsg | Proc | Hover | Link
    | Cancel,
    Field(discriminator="type"),
]
#: messages that change the shared run (presenter only, unless followers_control)
CONTROL_TYPES = frozenset({"play", "pause", "step", "speed", "reset", "seek", "action", "cancel"})

_adapter: TypeAdapter[Any] = TypeAdapter(ClientMessage)


class MessageError(ValueError):
    """A client message that did not validate; the text names the field and the limit."""


def format_errors(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"] if not str(p).startswith("function-after"))
        parts.append(f"{loc or 'message'}: {e['msg']}")
    return "; ".join(parts)[:1000]


def parse_message(data: Any) -> ClientMessage:
    try:
        msg: ClientMessage = _adapter.validate_python(data)
    except ValidationError as err:
        raise MessageError(format_errors(err)) from None
    return msg
