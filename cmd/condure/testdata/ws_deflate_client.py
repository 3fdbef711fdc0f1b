#!/usr/bin/python3
"""permessage-deflate client for TestDeflatePythonWebSockets (e2e_deflate_test.go).

Usage: ws_deflate_client.py ws://HOST:PORT/PATH [any] [small]

With "any", any permessage-deflate answer will do (to run it against the
reference); with "small", only messages under 8 KB.

Connects with the `websockets` library's default permessage-deflate offer,
checks that the server accepted it (with the client_no_context_takeover it
adds unasked), and has compressible text and binary messages echoed: small,
larger than the server's --buffer-size, and fragmented. Prints "OK <payload
bytes sent>" or what went wrong, and exits non-zero on failure.
"""

import asyncio
import sys

import websockets
from websockets.extensions.permessage_deflate import PerMessageDeflate


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


async def echo(ws, sent, what):
    await ws.send(sent)
    try:
        got = await asyncio.wait_for(ws.recv(), 10)
    except asyncio.TimeoutError:
        raise Failure(f"{what}: no echo within 10 s") from None
    if isinstance(sent, list):
        sent = "".join(sent) if isinstance(sent[0], str) else b"".join(sent)
    check(type(got) is type(sent) and got == sent, f"{what}: echo differs ({len(sent)} sent, {len(got)} back)")
    return len(sent)


async def run(url):
    ws = await websockets.connect(url, max_size=None, ping_interval=None, open_timeout=10, close_timeout=10)
    total = 0
    try:
        ext = ws.response_headers.get("Sec-WebSocket-Extensions")
        if "any" in sys.argv[2:]:  # another server (the reference)
            check(ext is not None and ext.startswith("permessage-deflate"), f"Sec-WebSocket-Extensions {ext!r}")
        else:
            check(ext == "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
                  f"Sec-WebSocket-Extensions {ext!r}")
        check(len(ws.extensions) == 1 and isinstance(ws.extensions[0], PerMessageDeflate),
              f"extensions in use {ws.extensions!r}")
        total += await echo(ws, "short ✓ text", "short text")
        total += await echo(ws, "", "empty text")
        if "small" in sys.argv[2:]:  # through Pushpin 1.36 (see TestDeflatePushpin)
            for i in range(5):
                total += await echo(ws, "".join(f'{{"id":{i},"name":"item {i}"}},' for i in range(250)), "4 KB text")
                total += await echo(ws, bytes(range(64)) * 100, "6 KB binary")
            total += await echo(ws, ["frag1 ✓ " * 100, "frag2 🌍 " * 100], "fragmented text")
            await ws.close(code=1000, reason="bye")
            return total
        big = "".join(f'{{"id":{i},"name":"item {i} ✓","tags":["a","b"]}},' for i in range(4000))
        total += await echo(ws, big, "large text")
        blob = bytes(range(256)) * 400
        total += await echo(ws, blob, "large binary")
        total += await echo(ws, ["frag1 ✓ " * 500, "frag2 🌍 " * 500, "frag3" * 500], "fragmented text")
        total += await echo(ws, [b"\x01\x02" * 3000, b"\x03" * 3000], "fragmented binary")
        await ws.close(code=1000, reason="bye")
        check(ws.close_code == 1000, f"close code {ws.close_code}")
    finally:
        if ws.close_code is None:
            await ws.close()
    return total


def main():
    try:
        total = asyncio.run(asyncio.wait_for(run(sys.argv[1]), 25))
    except Failure as e:
        print(f"FAIL: {e}")
        return 1
    except Exception as e:  # noqa: BLE001 - any error is a test failure
        print(f"FAIL: {type(e).__name__}: {e}")
        return 1
    print(f"OK {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
