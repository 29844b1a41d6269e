#!/usr/bin/python3
"""Real-time analytics: counts events per key in tumbling time windows.

Reads a stream of page views (key: the page, value: the user) and prints, for
each window of --window-s seconds by the records' own timestamps (event
time), how often each page was viewed:
    window 2024-05-01T12:00:00Z +10s views=57 /home=31 /cart=18 /checkout=8
A window is printed once the stream's event time (the watermark: how far
every partition has got) has passed its end by --lateness-s, so records
arriving a little out of order still count; later ones are dropped and
counted. What is still open is printed when the example stops.

Run against ./run.sh's cluster (127.0.0.1:9092), from the repository root:
    python3 examples/realtime_analytics.py --demo=2000 --from-beginning
--demo=N first produces N page views spread over the last minute into the
topic (default "page-views", created if missing); without it the example
counts whatever other producers send, e.g.
    printf '/home:alice\n/cart:bob\n' | ./bin/runnel produce page-views --key-separator=:
(python3 is Debian's, with python3-grpcio and python3-protobuf.)
"""

import collections
import random
import time

from common import add_run_flags, out, parser, records, run, runnel


def produce_demo(bootstrap, topic, n):
    pages = ["/home", "/home", "/home", "/cart", "/cart", "/checkout", "/search"]
    now = int(time.time() * 1000)
    rng = random.Random(7)
    with runnel.Producer(bootstrap) as producer:
        for i in range(n):
            ts = now - 60_000 + i * 60_000 // max(n, 1) + rng.randrange(-500, 500)
            producer.send(topic, "user-%d" % rng.randrange(50), key=rng.choice(pages), timestamp_ms=ts)


class Watermark:
    """The stream's event time: how far every partition has got. Partitions
    are read a batch at a time, not in timestamp order, so one partition's
    newest record says nothing of the others: a partition with records still
    to process holds the watermark at its newest timestamp, and one that is
    caught up does not hold it back."""

    def __init__(self, consumer, topic):
        self.consumer = consumer
        self.topic = topic
        # partition -> next offset to process, and largest timestamp seen
        self.next = {p: consumer.position(topic, p) for _, p in consumer.assignment()}
        self.newest = {}

    def advance(self, record):
        self.next[record.partition] = record.offset + 1
        self.newest[record.partition] = max(self.newest.get(record.partition, 0), record.timestamp_ms)

    def value(self):
        behind = []
        for p, next_offset in self.next.items():
            end = self.consumer.high_watermark(self.topic, p)  # -1 before the first fetch
            if end < 0 or next_offset < end:
                behind.append(self.newest.get(p, -1))
        if behind:
            return min(behind)
        return max(self.newest.values(), default=-1)


def show(window_start, window_ms, counts):
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(window_start / 1000))
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    out(
        "window %s +%ds views=%d %s"
        % (stamp, window_ms // 1000, sum(counts.values()), " ".join("%s=%d" % kv for kv in ranked))
    )


def main():
    p = parser(__doc__)
    p.add_argument("--topic", default="page-views")
    p.add_argument("--window-s", type=int, default=10)
    p.add_argument("--lateness-s", type=int, default=5, help="how late a record may arrive")
    p.add_argument("--from-beginning", action="store_true", help="count the whole topic, not only new records")
    p.add_argument("--demo", type=int, default=0, metavar="N", help="first produce N demo page views")
    add_run_flags(p)
    args = p.parse_args()

    runnel.Admin(args.bootstrap).create_topic(args.topic, partitions=3, exist_ok=True)
    if args.demo:
        produce_demo(args.bootstrap, args.topic, args.demo)
    window_ms = args.window_s * 1000
    lateness_ms = args.lateness_s * 1000
    windows = collections.defaultdict(collections.Counter)  # window start -> page -> count
    late = 0
    with runnel.Consumer(args.bootstrap) as consumer:
        consumer.assign_topic(args.topic, "earliest" if args.from_beginning else "latest")
        watermark = Watermark(consumer, args.topic)
        for r in records(consumer, args.idle_timeout_s):
            start = r.timestamp_ms - r.timestamp_ms % window_ms
            if start + window_ms + lateness_ms <= watermark.value():
                late += 1  # its window is closed and was printed
            else:
                windows[start][(r.key or b"-").decode()] += 1
            watermark.advance(r)
            closed = watermark.value() - lateness_ms
            for s in sorted(windows):
                if s + window_ms > closed:
                    break
                show(s, window_ms, windows.pop(s))
    for s in sorted(windows):
        show(s, window_ms, windows[s])
    out("done: %d late records dropped" % late)


if __name__ == "__main__":
    run(main)
