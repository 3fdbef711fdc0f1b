#!/usr/bin/python3
"""Publish one "200 OK / hello world" response for the given request id, then exit.

    python3 sendresp.py [--spec ipc://client] [--instance condure] [--id printreq] ID
"""

import zmq

import zhttp

# Bounds on a one-shot tool: seconds to wait for the server's subscription,
# and milliseconds the response may take to leave once we close.
SUBSCRIPTION_TIMEOUT = 10
LINGER_MS = 10000


def main():
    p = zhttp.arg_parser(__doc__.splitlines()[0], "printreq")
    p.add_argument("rid", metavar="ID", help="request id printed by printreq.py")
    args = p.parse_args()
    _, _, in_ = zhttp.stream_endpoints(args.spec)
    ctx = zmq.Context()
    # A fresh PUB drops messages until the server's subscription has reached
    # it (slow joiner): wait for it before publishing.
    pub = zhttp.connect_pub(ctx, in_, SUBSCRIPTION_TIMEOUT)
    # "from" names the ROUTER identity the server will use for any later packet
    # of this session: printreq.py's, by default. "seq" is omitted: we do not
    # know what else was sent for this session, and the server allows that.
    zhttp.publish(pub, args.instance, {
        "from": args.id, "id": args.rid, "code": 200, "reason": "OK",
        "headers": [["Content-Type", "text/plain"]], "body": b"hello world\n"})
    pub.close(linger=LINGER_MS)  # the I/O thread delivers what is queued
    ctx.term()


if __name__ == "__main__":
    main()
