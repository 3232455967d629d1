"""Rewriting pickle protocol 3-5 opcodes into protocol 2 ones, for torch's weights-only reader.

torch's weights-only unpickler (the only pickle reader gan-zoo uses) implements the opcodes of
protocol 2, the one ``torch.save`` writes by default. ``torch.save(..., pickle_protocol=4)``
is legitimate, though, and its files use a handful of newer opcodes that mean nothing new:

* ``FRAME`` is a read-ahead hint: dropped.
* ``SHORT_BINUNICODE`` / ``BINUNICODE8`` push a string: rewritten as ``BINUNICODE``.
* ``MEMOIZE`` stores the top of the stack at the next memo index: rewritten as ``LONG_BINPUT``
  with that index (memo indices are kept, so every later ``BINGET`` still works).
* ``STACK_GLOBAL`` takes its module and name from two strings on the stack: rewritten as
  ``GLOBAL module name``, the protocol 2 form, which the weights-only reader then checks against
  its allow-list as it checks any global.

Nothing is executed here: ``pickletools.genops`` only parses. The rewritten pickle builds the
same objects; whatever the weights-only reader would refuse in it (a global outside the
allow-list, an object build) it still refuses. Opcodes that only serve arbitrary objects
(``NEWOBJ_EX``, out-of-band buffers) are refused here as requests to run code.
"""

from __future__ import annotations

import io
import pickletools
import struct
import zipfile
from typing import Iterator

from ..errors import CheckpointError, UnsafeCheckpointError

STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8"}
PUT_OPS = {"MEMOIZE", "BINPUT", "LONG_BINPUT"}
GET_OPS = {"BINGET", "LONG_BINGET"}
CODE_OPS = {"NEWOBJ_EX", "NEXT_BUFFER", "READONLY_BUFFER", "BYTEARRAY8", "INST", "OBJ"}
LEGACY_PICKLES = 5  # magic number, protocol version, sys info, the object, the storage keys


def protocol_of(data: bytes) -> int:
    """The protocol a pickle declares in its first ``PROTO`` opcode (0 when it has none)."""
    return data[1] if len(data) >= 2 and data[0] == 0x80 else 0


def _binunicode(text: str) -> bytes:
    raw = text.encode("utf-8", "surrogatepass")
    return b"X" + struct.pack("<I", len(raw)) + raw


def _ops(data: bytes, start: int) -> Iterator[tuple[str, object, int, int]]:
    """(opcode name, argument, start, end) of one pickle beginning at ``start``, up to its STOP."""
    stream = io.BytesIO(data)
    stream.seek(start)
    previous = None
    try:
        for op, arg, pos in pickletools.genops(stream):
            if previous is not None:
                yield previous[0], previous[1], previous[2], pos
            previous = (op.name, arg, pos)
            if op.name == "STOP":
                break
    except (ValueError, EOFError, struct.error, UnicodeDecodeError) as exc:
        raise CheckpointError(f"the pickle is damaged ({exc})") from None
    if previous is None or previous[0] != "STOP":
        raise CheckpointError("the pickle is damaged (it has no STOP opcode)")
    yield previous[0], previous[1], previous[2], stream.tell()


def to_protocol2(data: bytes, start: int = 0) -> tuple[bytes, int]:
    """One pickle at ``data[start:]`` rewritten with protocol 2 opcodes, and where it ended."""
    out: list[bytes] = []
    pushed: list[tuple[int, str]] = []  # (index in out, value) of the string pushes just emitted
    strings: dict[int, str] = {}  # memo slots holding strings (re-pushed by value, never memoised)
    memo: set[int] = set()
    end = start
    for name, arg, begin, end in _ops(data, start):
        if name in CODE_OPS:
            raise UnsafeCheckpointError(f"the pickle uses {name}, which builds arbitrary objects")
        string = str(arg) if name in STRING_OPS else strings.get(int(arg)) if name in GET_OPS else None  # type: ignore[arg-type]
        if string is not None:
            pushed.append((len(out), string))
            out.append(_binunicode(string))
            continue
        if name == "FRAME":
            continue
        if name in PUT_OPS:
            index = len(memo) if name == "MEMOIZE" else int(arg)  # type: ignore[arg-type]
            memo.add(index)
            if pushed and pushed[-1][0] == len(out) - 1:
                strings[index] = pushed[-1][1]  # a string: later gets push the value itself
                continue
            out.append(b"r" + struct.pack("<I", index))
        elif name == "PROTO":
            out.append(b"\x80\x02")
        elif name == "STACK_GLOBAL":
            if len(pushed) < 2 or pushed[-1][0] != len(out) - 1 or pushed[-2][0] != len(out) - 2:
                raise CheckpointError("the pickle is damaged (STACK_GLOBAL without its two names)")
            module, qualname = pushed[-2][1], pushed[-1][1]
            if "\n" in module or "\n" in qualname:
                raise UnsafeCheckpointError("the pickle asks for a global with a line break in its name")
            del out[-2:]
            out.append(b"c" + module.encode("utf-8") + b"\n" + qualname.encode("utf-8") + b"\n")
        else:
            out.append(data[begin:end])
        pushed.clear()
    return b"".join(out), end


def legacy_to_protocol2(data: bytes) -> bytes:
    """A legacy (non-zip) torch file whose pickles use protocol 3-5, rewritten with protocol 2."""
    parts, pos = [], 0
    for _ in range(LEGACY_PICKLES):
        rewritten, pos = to_protocol2(data, pos)
        parts.append(rewritten)
    return b"".join(parts) + data[pos:]


def zip_to_protocol2(path) -> io.BytesIO | None:
    """A torch zip checkpoint with its ``data.pkl`` rewritten in protocol 2 (in memory), or None
    when the pickle already is protocol 2 or lower (then the file is read as it is)."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickle_name = next((n for n in names if n.endswith("/data.pkl") or n == "data.pkl"), None)
        if pickle_name is None:
            return None
        data = archive.read(pickle_name)
        if protocol_of(data) <= 2:
            return None
        rewritten, _ = to_protocol2(data)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as out:
            for name in names:
                out.writestr(name, rewritten if name == pickle_name else archive.read(name))
    buffer.seek(0)
    return buffer
