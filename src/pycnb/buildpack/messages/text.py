"""Text shown to users: making invisible characters visible."""

from __future__ import annotations

import unicodedata

__all__ = ["unusual_characters", "visible"]


def visible(text: str) -> str:
    """`text` in double quotes with everything that is not printable ASCII escaped, so that a
    zero-width space, a BOM or a stray byte shows up in the message."""
    out = []
    for char in text:
        code = ord(char)
        if char in '\\"':
            out.append("\\" + char)
        elif " " <= char <= "~":
            out.append(char)
        elif char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif _UNDECODABLE_FIRST <= code <= _UNDECODABLE_LAST:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code <= 0xFF:  # noqa: PLR2004
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:  # noqa: PLR2004
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


# surrogateescape decodes each byte that is not valid UTF-8 to U+DC80..U+DCFF (byte + 0xDC00).
_UNDECODABLE_FIRST, _UNDECODABLE_LAST = 0xDC80, 0xDCFF


def unusual_characters(text: str) -> list[str]:
    """Names of the characters that `_visible` escapes, such as `U+200B ZERO WIDTH SPACE`."""
    names: list[str] = []
    for char in dict.fromkeys(text):
        code = ord(char)
        if " " <= char <= "~":
            continue
        if _UNDECODABLE_FIRST <= code <= _UNDECODABLE_LAST:
            name = f"the byte 0x{code - 0xDC00:02X}, which is not valid UTF-8 here"
        else:
            name = f"U+{code:04X} {unicodedata.name(char, 'a control character')}"
        names.append(name)
    return names
