"""Minimal tnetstring encoder/decoder for the ZHTTP examples (docs/reference.md section 1).

dumps() accepts bytes, str (written as a UTF-8 byte string), int, float, bool,
None, list/tuple and dict (keys str or bytes). loads() returns byte strings as
bytes and dict keys as str (the server requires UTF-8 keys anyway).

Parsing follows the server's rules (section 1.2): the length prefix is digits
only (leading zeros allowed) followed by ':', the payload and type byte must fit,
unknown type bytes, non-UTF-8/non-string dict keys, malformed ints and booleans
are errors, a later duplicate dict key wins, and bytes after the top-level value
are ignored (use parse() to get them).
"""

import re

__all__ = ["dumps", "loads", "parse", "TNetStringError"]

_INT = re.compile(rb"-?[0-9]+\Z")
_FLOAT = re.compile(rb"-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?\Z")


class TNetStringError(ValueError):
    pass


def dumps(value):
    if isinstance(value, bool):  # before int: bool is a subclass of int
        payload, kind = (b"true" if value else b"false"), b"!"
    elif value is None:
        payload, kind = b"", b"~"
    elif isinstance(value, int):
        payload, kind = str(value).encode(), b"#"
    elif isinstance(value, float):
        payload, kind = repr(value).encode(), b"^"
    elif isinstance(value, str):
        payload, kind = value.encode("utf-8"), b","
    elif isinstance(value, (bytes, bytearray, memoryview)):
        payload, kind = bytes(value), b","
    elif isinstance(value, (list, tuple)):
        payload, kind = b"".join(dumps(v) for v in value), b"]"
    elif isinstance(value, dict):
        parts = []
        for k, v in value.items():
            if not isinstance(k, (str, bytes)):
                raise TNetStringError("dict keys must be strings")
            parts.append(dumps(k))
            parts.append(dumps(v))
        payload, kind = b"".join(parts), b"}"
    else:
        raise TNetStringError("cannot encode %r" % type(value).__name__)
    return str(len(payload)).encode() + b":" + payload + kind


def parse(data):
    """Decode one value from the start of data; return (value, remaining bytes)."""
    data = bytes(data)
    colon = data.find(b":")
    prefix = data if colon < 0 else data[:colon]
    if prefix and not prefix.isdigit():  # bytes.isdigit() is ASCII-only
        raise TNetStringError("invalid data")
    if colon < 0:
        raise TNetStringError("unexpected eof")
    if not prefix:
        raise TNetStringError("invalid data")
    size = int(prefix)
    end = colon + 1 + size
    if end >= len(data):  # payload plus the type byte must fit
        raise TNetStringError("unexpected eof")
    payload, kind, rest = data[colon + 1:end], data[end:end + 1], data[end + 1:]

    if kind == b",":
        return payload, rest
    if kind == b"#":
        if not _INT.match(payload):
            raise TNetStringError("invalid integer")
        return int(payload), rest
    if kind == b"^":
        if not _FLOAT.match(payload):
            raise TNetStringError("invalid float")
        return float(payload), rest
    if kind == b"!":
        if payload == b"true":
            return True, rest
        if payload == b"false":
            return False, rest
        raise TNetStringError("invalid boolean")
    if kind == b"~":
        return None, rest  # like the server, the null payload is not checked
    if kind == b"]":
        items = []
        while payload:
            item, payload = parse(payload)
            items.append(item)
        return items, rest
    if kind == b"}":
        d = {}
        while payload:
            key, payload = parse(payload)
            if not isinstance(key, bytes):
                raise TNetStringError("map key must be a utf-8 string")
            try:
                key = key.decode("utf-8")
            except UnicodeDecodeError:
                raise TNetStringError("map key must be a utf-8 string") from None
            if not payload:
                raise TNetStringError("unexpected eof")  # key without a value
            d[key], payload = parse(payload)  # a later duplicate replaces the earlier
        return d, rest
    raise TNetStringError("invalid data")  # unknown type byte


def loads(data):
    """Decode one value; trailing bytes are ignored, as the server does."""
    return parse(data)[0]


if __name__ == "__main__":  # quick self-test: python3 tnetstring.py
    v = [1, -2, 2.5, True, None, "x", {"k": "v"}]
    enc = dumps(v)
    assert enc == b"40:1:1#2:-2#3:2.5^4:true!0:~1:x,8:1:k,1:v,}]", enc
    assert loads(enc) == [1, -2, 2.5, True, None, b"x", {"k": b"v"}]
    assert loads(b"005:hello,trailing") == b"hello"
    assert loads(b"16:1:k,1:a,1:k,1:b,}") == {"k": b"b"}
    for bad in [b"5:hell,", b"x:a,", b"3:abc?", b"4:True!", b"2:4a#", b"4:1:1#}",
                b"6:2:\xff\xfe,0:~}", b"", b"12", b"4:1:k,}", b" 1:a,", b"1:a"]:
        try:
            loads(bad)
        except TNetStringError:
            continue
        raise AssertionError("accepted %r" % bad)
    print("ok")
