"""Helpers shared by the example handlers (see docs/reference.md sections 2 and 3)."""

import argparse
import sys

import tnetstring

# After connecting a PUB socket, ZeroMQ drops whatever it publishes until the
# server's SUB subscription has travelled back to us ("slow joiner"). The
# examples therefore wait this long before they publish anything.
SLOW_JOINER_DELAY = 0.5


def stream_endpoints(spec):
    """Map a base spec to the server's (out, out-stream, in) endpoints.

    ipc://PATH         -> ipc://PATH-out, ipc://PATH-out-stream, ipc://PATH-in
    tcp://HOST:PORT    -> tcp://HOST:PORT, tcp://HOST:PORT+1, tcp://HOST:PORT+2
    """
    if spec.startswith("ipc://"):
        return spec + "-out", spec + "-out-stream", spec + "-in"
    if spec.startswith("tcp://"):
        host, _, port = spec.rpartition(":")
        port = int(port)
        return tuple("%s:%d" % (host, port + i) for i in range(3))
    raise ValueError("base spec must be ipc or tcp")


def arg_parser(description, default_id):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--spec", default="ipc://client",
                   help="server's --zclient-stream base spec (default %(default)s)")
    p.add_argument("--instance", default="condure",
                   help="server's --id, used as the PUB address prefix (default %(default)s)")
    p.add_argument("--id", default=default_id,
                   help="our address: the 'from' we send and our ROUTER identity "
                        "(default %(default)s)")
    return p


def decode(frame):
    """Parse a ZHTTP message body: 'T' followed by one tnetstring dict."""
    if frame[:1] != b"T":
        raise ValueError("not a T (tnetstring) message")
    pkt = tnetstring.loads(frame[1:])
    if not isinstance(pkt, dict):
        raise ValueError("message is not a dict")
    return pkt


def encode(pkt):
    return b"T" + tnetstring.dumps(pkt)


def publish(pub, instance, pkt):
    """Send a packet to the server over PUB: one frame '<instance-id> T<dict>'."""
    pub.send(instance.encode() + b" " + encode(pkt))


def packet_ids(pkt):
    """Return the session ids of a server packet ('id' is a string or a list of
    {"id", "seq"} dicts when the server batches, e.g. keep-alives)."""
    i = pkt.get("id")
    if isinstance(i, list):
        return [e.get("id") for e in i if isinstance(e, dict)]
    return [i] if i is not None else []


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def text(b):
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)
