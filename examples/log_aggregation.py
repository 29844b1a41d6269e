#!/usr/bin/python3
"""Log aggregation: tails log files into a topic, one record per line.

Each line becomes a record keyed by "HOST:PATH", so a file's lines stay in
order on one partition, with headers "host" and "path" and the time it was
read as its timestamp. Like `tail -F`, it follows files as they grow and
reopens them when they are rotated (replaced or truncated).

Run against ./run.sh's cluster (127.0.0.1:9092), from the repository root:
    python3 examples/log_aggregation.py --topic=logs /var/log/syslog app.log
and read the aggregated stream with
    ./bin/runnel consume logs --from-beginning --print-key
(python3 is Debian's, with python3-grpcio and python3-protobuf.) The topic is
created with 3 partitions if missing. --from-start ships what the files
already hold; --duration-s stops after that many seconds.
"""

import os
import socket
import time

from common import out, parser, run, runnel


class Tail:
    """Follows one file; lines() returns the complete lines added since."""

    def __init__(self, path, from_start):
        self.path = path
        self.file = None
        self.inode = None
        self.partial = b""
        self._open(seek_end=not from_start)

    def _open(self, seek_end):
        try:
            self.file = open(self.path, "rb")
        except FileNotFoundError:
            self.file = None
            return
        self.inode = os.fstat(self.file.fileno()).st_ino
        if seek_end:
            self.file.seek(0, os.SEEK_END)

    def lines(self):
        if self.file is None:
            self._open(seek_end=False)
            if self.file is None:
                return []
        data = self.file.read()
        try:
            st = os.stat(self.path)
            rotated = st.st_ino != self.inode or st.st_size < self.file.tell()
        except FileNotFoundError:
            rotated = False
        if rotated:  # the old file is drained; continue with the new one
            self.file.close()
            self._open(seek_end=False)
        data = self.partial + data
        lines = data.split(b"\n")
        self.partial = lines.pop()
        return lines


def main():
    p = parser(__doc__)
    p.add_argument("files", nargs="+", help="files to tail")
    p.add_argument("--topic", default="logs")
    p.add_argument("--from-start", action="store_true", help="ship the files' current contents too")
    p.add_argument("--duration-s", type=float, default=0, help="stop after this long (default: never)")
    p.add_argument("--poll-ms", type=int, default=200, help="how often to look for new lines")
    args = p.parse_args()

    host = socket.gethostname()
    runnel.Admin(args.bootstrap).create_topic(args.topic, partitions=3, exist_ok=True)
    tails = [Tail(f, args.from_start) for f in args.files]
    shipped = {f: 0 for f in args.files}
    stop_at = time.monotonic() + args.duration_s if args.duration_s > 0 else None
    with runnel.Producer(args.bootstrap, linger_ms=100) as producer:
        try:
            while stop_at is None or time.monotonic() < stop_at:
                for t in tails:
                    for line in t.lines():
                        producer.send(
                            args.topic,
                            line,
                            key="%s:%s" % (host, t.path),
                            headers=[("host", host), ("path", t.path)],
                        )
                        shipped[t.path] += 1
                producer.flush()
                time.sleep(args.poll_ms / 1000.0)
        except KeyboardInterrupt:
            pass
    for f in args.files:
        out("shipped %d lines from %s to %s" % (shipped[f], f, args.topic))


if __name__ == "__main__":
    run(main)
