#!/usr/bin/env python3
# drip.py PORT N SECONDS OUT: N slow connections to 127.0.0.1:PORT, one
# header byte each every 2 s, reopened when the server cuts them; writes
# "opened cut max_life_s" to OUT at the end.
import socket, sys, time
port, n, secs, out = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
req = b"GET /api/v1/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4096
end = time.time() + secs
conns, opened, cut, max_life = [], 0, 0, 0.0

def dial():
    global opened
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close()
        return None
    s.setblocking(False)
    opened += 1
    return [s, time.time(), 0]

conns = [c for c in (dial() for _ in range(n)) if c]
with open(out + ".ready", "w") as f:
    f.write("%d\n" % len(conns))
while time.time() < end:
    for i, c in enumerate(conns):
        s, t0, k = c
        alive = True
        try:
            if s.recv(4096) == b"":
                alive = False
        except BlockingIOError:
            pass
        except OSError:
            alive = False
        if alive:
            try:
                s.send(req[k:k + 1])
                c[2] = k + 1 if k + 1 < len(req) else k
            except BlockingIOError:
                pass
            except OSError:
                alive = False
        if not alive:
            cut += 1
            max_life = max(max_life, time.time() - t0)
            s.close()
            conns[i] = dial() or [socket.socket(), time.time(), 0]
    time.sleep(2)
for c in conns:
    c[0].close()
with open(out, "w") as f:
    f.write("%d %d %.1f\n" % (opened, cut, max_life))
