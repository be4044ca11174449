"""Read OpenClonk's group files (``.ocg``, ``.ocd``, ``.ocf``, ...), the archives its game content ships in.

The layout, as read from the files of ``openclonk-data`` 8.1:

- A group file is a gzip stream whose first two bytes are 0x1e 0x8c where gzip has 0x1f 0x8b.
- The unpacked stream starts with a 204-byte header, scrambled: every byte is XORed with 0xED and then,
  in each 3-byte block, the first and third bytes are swapped (the same steps undo it). In the clear it
  starts with "RedWolf Design GrpFolder" and holds the number of entries (little-endian int32) at byte 36.
- An entry table follows, in the clear: 316 bytes an entry, the NUL-padded name in the first 260, then
  little-endian int32s: 1 at byte 264 when the entry is itself a group, the size at 268 and, at 276, the
  offset of the entry's data counted from the end of the table.
- The entries' data follows the table. A group inside a group is stored unpacked at its offset: its
  own header, table and data.

The engine treats a plain folder named like a group the same way; ``members`` does too. ``plain``
drops the group suffixes from a path inside. One file of the package,
``Sound.ocg/Liquids.ocg/StereoRain.ogg``, ends with an Ogg page holding a single empty packet, which
FFmpeg's Vorbis decoder refuses after decoding every sample; ``without_empty_ogg_end`` drops such a page.
"""

from __future__ import annotations

import gzip
import re
import struct
from pathlib import Path
from typing import Iterator

GROUP_MAGIC = b"\x1e\x8c"  # replaces gzip's magic at the start of a group file
GZIP_MAGIC = b"\x1f\x8b"
HEADER_SIZE = 204
HEADER_KEY = 0xED  # every header byte is XORed with this
SWAP_BLOCK = 3  # ... and bytes 0 and 2 of every 3-byte block are swapped
HEADER_ID = b"RedWolf Design GrpFolder"
ENTRY_COUNT_AT = 36  # int32 in the clear header
ENTRY_SIZE = 316
NAME_SIZE = 260
IS_GROUP_AT, SIZE_AT, OFFSET_AT = 264, 268, 276  # int32s in an entry record
GROUP_SUFFIX = re.compile(r"\.oc[a-z]$", re.I)  # .ocg (group), .ocd (definition), .ocf (folder), .ocs (scenario), ...

OGG_CAPTURE = b"OggS"  # every Ogg page starts with this
OGG_EMPTY_PAGE = 28  # bytes of a page with one empty packet: the 27-byte page header and one lacing value, 0
OGG_SEGMENTS_AT = 26  # the page header's count of lacing values, followed by the values
OGG_ONE_EMPTY_SEGMENT = b"\x01\x00"  # one lacing value, 0: a single empty packet


class GroupError(ValueError):
    """The bytes are not an OpenClonk group."""


def scramble(header: bytes) -> bytes:
    """Scramble a clear header or unscramble a stored one (the operation is its own inverse)."""
    out = bytearray(b ^ HEADER_KEY for b in header)
    for i in range(0, len(out) - SWAP_BLOCK + 1, SWAP_BLOCK):
        out[i], out[i + 2] = out[i + 2], out[i]
    return bytes(out)


def unpack(stored: bytes) -> bytes:
    """The unpacked stream of a group file's bytes."""
    if stored[:2] != GROUP_MAGIC:
        raise GroupError("not an OpenClonk group file (magic bytes)")
    return gzip.decompress(GZIP_MAGIC + stored[2:])


def entries(data: bytes, start: int = 0, prefix: str = "") -> Iterator[tuple[str, bytes]]:
    """(path inside the group, bytes) of every file of the unpacked group at ``start``, nested groups included."""
    header = scramble(data[start:start + HEADER_SIZE])
    if not header.startswith(HEADER_ID):
        raise GroupError(f"no group header at byte {start}")
    count = struct.unpack_from("<i", header, ENTRY_COUNT_AT)[0]
    table = start + HEADER_SIZE
    body = table + count * ENTRY_SIZE
    for k in range(count):
        record = data[table + k * ENTRY_SIZE:table + (k + 1) * ENTRY_SIZE]
        name = record[:NAME_SIZE].split(b"\0")[0].decode("latin-1")
        is_group, size, offset = (struct.unpack_from("<i", record, at)[0] for at in (IS_GROUP_AT, SIZE_AT, OFFSET_AT))
        if is_group:
            yield from entries(data, body + offset, f"{prefix}{name}/")
        else:
            yield f"{prefix}{name}", data[body + offset:body + offset + size]


def members(path: Path) -> Iterator[tuple[str, bytes]]:
    """(path inside, bytes) of every file of a group file or of a folder used as a group."""
    if path.is_dir():
        for inner in sorted(p for p in path.rglob("*") if p.is_file()):
            yield inner.relative_to(path).as_posix(), inner.read_bytes()
    else:
        yield from entries(unpack(path.read_bytes()))


def is_group_name(name: str) -> bool:
    """Whether a file or folder name has a group suffix."""
    return GROUP_SUFFIX.search(name) is not None


def plain(path: str) -> str:
    """``path`` without its folders' group suffixes: ``Sound.ocg/Fire.ocg/Fire.ogg`` -> ``Sound/Fire/Fire.ogg``."""
    *folders, name = path.split("/")
    return "/".join([GROUP_SUFFIX.sub("", folder) for folder in folders] + [name])


def without_empty_ogg_end(data: bytes) -> bytes:
    """An Ogg file's bytes without a last page that holds only one empty packet; other data unchanged."""
    tail = data[-OGG_EMPTY_PAGE:]
    empty_last_page = tail.startswith(OGG_CAPTURE) and tail[OGG_SEGMENTS_AT:] == OGG_ONE_EMPTY_SEGMENT
    return data[:-OGG_EMPTY_PAGE] if len(data) > OGG_EMPTY_PAGE and empty_last_page else data
