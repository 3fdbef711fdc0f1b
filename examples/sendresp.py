#!/usr/bin/python3
"""Publish one "200 OK / hello world" response for the given request id, then exit.

    python3 sendresp.py [--spec ipc://client] [--instance condure] [--id printreq] ID
"""

import time

import zmq

import zhttp


def main():
    p = zhttp.arg_parser(__doc__.splitlines()[0], "printreq")
    p.add_argument("rid", metavar="ID", help="request id printed by printreq.py")
    args = p.parse_args()
    _, _, in_ = zhttp.stream_endpoints(args.spec)
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.connect(in_)
    # Slow joiner: a fresh PUB drops messages until the server's subscription
    # has reached it, so wait before publishing.
    time.sleep(zhttp.SLOW_JOINER_DELAY)
    # "from" names the ROUTER identity the server will use for any later packet
    # of this session: printreq.py's, by default. "seq" is omitted: we do not
    # know what else was sent for this session, and the server allows that.
    zhttp.publish(pub, args.instance, {
        "from": args.id, "id": args.rid, "code": 200, "reason": "OK",
        "headers": [["Content-Type", "text/plain"]], "body": b"hello world\n"})
    time.sleep(0.1)  # give the I/O thread time to deliver before we close
    pub.close(linger=1000)
    ctx.term()


if __name__ == "__main__":
    main()
