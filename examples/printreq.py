#!/usr/bin/python3
"""Print the id of each incoming request, one per line, for sendresp.py.

    python3 printreq.py | xargs -n 1 python3 sendresp.py

A human readable "METHOD URI" line for each request goes to stderr. This handler
never replies itself: sendresp.py does, from a separate process. The server
accepts a response from any handler address.
"""

import zmq

import zhttp


def main():
    args = zhttp.arg_parser(__doc__.splitlines()[0], "printreq").parse_args()
    out, out_stream, _ = zhttp.stream_endpoints(args.spec)
    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)  # new requests arrive here
    pull.connect(out)
    # sendresp.py replies with from = our --id by default, so any later packet
    # of the session (e.g. a cancel) is routed to this ROUTER, whose identity
    # must equal that address. We only drain and log those packets.
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.IDENTITY, args.id.encode())
    router.connect(out_stream)

    poller = zmq.Poller()
    poller.register(pull, zmq.POLLIN)
    poller.register(router, zmq.POLLIN)
    while True:
        for sock, _ in poller.poll():
            if sock is pull:
                req = zhttp.decode(pull.recv())
                zhttp.log(zhttp.text(req.get("method", b"")), zhttp.text(req.get("uri", b"")))
                print(zhttp.text(req["id"]), flush=True)  # flush: xargs reads a pipe
            else:
                pkt = zhttp.decode(router.recv_multipart()[-1])  # [routing id, "", payload]
                zhttp.log("  (%s for %s)" % (zhttp.text(pkt.get("type", b"data")),
                                             ",".join(map(zhttp.text, zhttp.packet_ids(pkt)))))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
