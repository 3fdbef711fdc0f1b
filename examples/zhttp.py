"""Helpers shared by the example handlers (see docs/reference.md sections 2 and 3)."""

import argparse
import sys

import zmq

import tnetstring


def connect_pub(ctx, endpoint, timeout=None):
    """Connect a publishing socket to the server's SUB endpoint and return it
    once the server's subscription has reached it.

    A fresh PUB drops whatever it publishes until the subscription has
    travelled back to it ("slow joiner"), however long that takes on a busy
    machine, so no fixed pause is ever enough. An XPUB is a PUB that also
    receives its subscribers' subscriptions: the first one is the signal.
    timeout: seconds, then TimeoutError (None: as long as it takes, e.g. for
    the server to start).
    """
    pub = ctx.socket(zmq.XPUB)
    pub.connect(endpoint)
    if not pub.poll(None if timeout is None else int(timeout * 1000), zmq.POLLIN):
        pub.close(linger=0)
        raise TimeoutError("no subscription from %s within %g s" % (endpoint, timeout))
    pub.recv()  # b"\x01" and the topic the server subscribed to
    return pub


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
