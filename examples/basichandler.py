#!/usr/bin/python3
"""Answer every HTTP request with 200 OK, text/plain, "hello world\\n".

Stream mode (default): connects PULL to <spec>-out, ROUTER to <spec>-out-stream
and PUB to <spec>-in. Req mode (--req): connects a REP socket to <spec> as is.

    python3 basichandler.py [--spec ipc://client] [--instance condure] [--id basichandler-PID]
    python3 basichandler.py --req [--spec ipc://client]
"""

import os

import zmq

import zhttp

BODY = b"hello world\n"
HEADERS = [["Content-Type", "text/plain"]]

# Request-body credit we keep outstanding. The server forwards at most
# min(credits, --buffer-size) bytes per packet and stops reading from the client
# when our credit reaches 0, so we hand back each chunk's size as we consume it.
WINDOW = 65536


def response(sid):
    # No "more": the body is complete, so the server sends Content-Length.
    return {"id": sid, "code": 200, "reason": "OK", "headers": HEADERS, "body": BODY}


def run_req(args):
    ctx = zmq.Context()
    rep = ctx.socket(zmq.REP)  # server DEALER sends ["", payload]; REP strips the envelope
    rep.connect(args.spec)
    zhttp.log("req mode: REP connected to", args.spec)
    while True:
        req = zhttp.decode(rep.recv())
        # the whole request body is already in req["body"]
        zhttp.log(zhttp.text(req.get("method", b"")), zhttp.text(req.get("uri", b"")),
                  "(%d body bytes)" % len(req.get("body", b"")))
        rep.send(zhttp.encode(response(req["id"])))  # req mode needs no from/seq


def run_stream(args):
    ident = args.id.encode()
    out, out_stream, in_ = zhttp.stream_endpoints(args.spec)
    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)  # first packet of every session (the request)
    pull.connect(out)
    # The server sends every later packet of a session (body, credit,
    # keep-alive, cancel) through its ROUTER, addressed by the 'from' we last
    # sent. Our identity must therefore equal our 'from', and the socket must be
    # connected before we first reply, or the server gets "Host unreachable".
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.IDENTITY, ident)
    router.connect(out_stream)
    # Everything we send goes to our PUB, once the server's subscription
    # has reached it (slow joiner).
    pub = zhttp.connect_pub(ctx, in_)
    zhttp.log("stream mode: connected to", out, out_stream, in_, "as", args.id)

    sessions = {}  # session id -> {"seq": our next seq, "size": body bytes so far}

    def send(sid, pkt):
        s = sessions[sid]
        pkt.update({"from": ident, "id": sid, "seq": s["seq"]})
        s["seq"] += 1
        zhttp.publish(pub, args.instance, pkt)

    def respond(sid):
        send(sid, response(sid))
        del sessions[sid]

    poller = zmq.Poller()
    poller.register(pull, zmq.POLLIN)
    poller.register(router, zmq.POLLIN)
    while True:
        for sock, _ in poller.poll():
            if sock is pull:
                req = zhttp.decode(pull.recv())
                sid = req["id"]
                sessions[sid] = {"seq": 0, "size": 0}
                uri = zhttp.text(req.get("uri", b""))
                zhttp.log(zhttp.text(req.get("method", b"")), uri)
                if uri.startswith(("ws://", "wss://")):
                    # A WebSocket request: refuse it with a plain HTTP response.
                    send(sid, {"type": "error", "condition": "rejected", "code": 400,
                               "reason": "Bad Request", "headers": HEADERS,
                               "body": b"websockets not supported\n"})
                    del sessions[sid]
                elif req.get("more"):
                    # A body follows. The server starts with 0 credit for it, so
                    # it sends nothing until we grant some. Replying before the
                    # body is read would be an "early response" and force
                    # Connection: close, so we read it all first. (Condure 1.9
                    # omits "more" for "Content-Length: 0" yet counts that body
                    # as unread, so its answer says Connection: close; harmless.)
                    send(sid, {"type": "credit", "credits": WINDOW})
                else:
                    respond(sid)
            else:
                # ROUTER frames: [server routing id, "", payload]
                pkt = zhttp.decode(router.recv_multipart()[-1])
                typ = pkt.get("type", b"")
                if typ == b"cancel":  # client went away: forget the session(s)
                    for sid in zhttp.packet_ids(pkt):
                        if sessions.pop(sid, None) is not None:
                            zhttp.log("  %s: cancelled" % zhttp.text(sid))
                elif typ == b"" and isinstance(pkt.get("id"), bytes):  # request body
                    sid = pkt["id"]
                    if sid not in sessions:
                        continue
                    n = len(pkt.get("body", b""))
                    sessions[sid]["size"] += n
                    if pkt.get("more"):
                        if n:
                            send(sid, {"type": "credit", "credits": n})  # refill window
                    else:
                        zhttp.log("  %s: %d body bytes" % (zhttp.text(sid), sessions[sid]["size"]))
                        respond(sid)
                # keep-alive and credit packets need no answer here: our sessions
                # are short, and this response fits in the initial credit.


def main():
    # The default identity is unique per process. Condure 1.9.1 only drops a
    # dead handler's ROUTER peer when it next sends to it, so a restarted
    # handler reusing the old identity can be refused by the server's ROUTER
    # (duplicate routing id) and then never receives body, credit or cancel
    # packets. Pass --id to choose a fixed one.
    p = zhttp.arg_parser(__doc__.splitlines()[0], "basichandler-%d" % os.getpid())
    p.add_argument("--req", action="store_true",
                   help="req mode: REP socket connected to --spec (the server's --zclient-req)")
    args = p.parse_args()
    try:
        run_req(args) if args.req else run_stream(args)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
