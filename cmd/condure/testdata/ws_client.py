#!/usr/bin/python3
"""WebSocket client for TestPythonWebSocketsClient (e2e_realclients_test.go).

Usage: ws_client.py ws://HOST:PORT/PATH

Talks to an echo handler behind condure-go with the `websockets` library
(Debian's python3-websockets, 10.x: the asyncio client; the sync client only
exists from 11.0). Prints one line, "OK" or what went wrong, and exits
non-zero on failure.
"""

import asyncio
import os
import sys

import websockets


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def describe(m):
    return f"{type(m).__name__} of {len(m)}"


async def recv(ws, what):
    try:
        return await asyncio.wait_for(ws.recv(), 10)
    except asyncio.TimeoutError:
        raise Failure(f"{what}: no echo within 10 s (connection {ws.state.name})") from None


async def expect_echo(ws, sent, what):
    got = await recv(ws, what)
    if type(got) is not type(sent) or got != sent:
        raise Failure(f"{what}: echo differs: sent {describe(sent)}, got {describe(got)}")


async def run(url):
    ws = await websockets.connect(
        url,
        subprotocols=["chat", "superchat"],
        max_size=None,
        ping_interval=None,  # only the explicit ping below
        open_timeout=10,
        close_timeout=10,
    )
    try:
        check(ws.subprotocol == "chat", f"negotiated subprotocol {ws.subprotocol!r}, want 'chat'")

        # Round trips, one at a time.
        text = "héllo wörld — ✓ 你好 🌍"
        await ws.send(text)
        await expect_echo(ws, text, "short text")

        await ws.send("")
        await expect_echo(ws, "", "empty text")

        # ~90 kB of multi-byte UTF-8: crosses the server's buffer and the
        # handler's credit windows, so it is split inside UTF-8 sequences.
        big_text = "ü✓🌍" * 10000 + "end"
        await ws.send(big_text)
        await expect_echo(ws, big_text, "large text")

        blob = os.urandom(100 * 1024)
        await ws.send(blob)
        await expect_echo(ws, blob, "100 KB binary")

        # A fragmented message (first frame + continuations).
        await ws.send(["frag1 ✓ ", "frag2 🌍 ", "frag3"])
        await expect_echo(ws, "frag1 ✓ frag2 🌍 frag3", "fragmented text")

        pong = await ws.ping(b"are you there?")
        try:
            await asyncio.wait_for(pong, 10)
        except asyncio.TimeoutError:
            raise Failure("no pong within 10 s") from None

        # Pipelined: everything sent before reading any echo.
        msgs = [f"message {i} ✓" if i % 2 == 0 else os.urandom(i * 1500) for i in range(20)]
        for m in msgs:
            await ws.send(m)
        for i, m in enumerate(msgs):
            await expect_echo(ws, m, f"pipelined message {i}")

        await ws.close(code=1000, reason="bye")
        check(ws.close_code == 1000, f"close code from the server {ws.close_code}, want 1000")
        check(ws.close_reason == "bye", f"close reason from the server {ws.close_reason!r}, want 'bye'")
    finally:
        if ws.close_code is None:
            await ws.close()


def main():
    if len(sys.argv) != 2:
        print("usage: ws_client.py ws://HOST:PORT/PATH")
        return 2
    try:
        asyncio.run(asyncio.wait_for(run(sys.argv[1]), 25))
    except Failure as e:
        print(f"FAIL: {e}")
        return 1
    except Exception as e:  # noqa: BLE001 - any error is a test failure
        print(f"FAIL: {type(e).__name__}: {e}")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
