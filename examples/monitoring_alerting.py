#!/usr/bin/python3
"""Monitoring and alerting: threshold alerts on a stream of metrics.

Metric samples arrive as JSON, keyed by host:
    {"host": "web-1", "metric": "cpu", "value": 97.5}
Each --rule METRIC>LIMIT (or METRIC<LIMIT) fires when a host's metric breaks
the limit for --for consecutive samples, and resolves when it is back within
it; both are printed and published to the alerts topic:
    ALERT host=web-1 cpu=97.5 (cpu>90 for 3 samples)
    RESOLVED host=web-1 cpu=42.0 (cpu>90)
Alert state lives in memory, per host, so the consumer group (--group) keeps a
host's samples on one member: its key picks its partition.

Run against ./run.sh's cluster (127.0.0.1:9092), from the repository root:
    python3 examples/monitoring_alerting.py --demo --from-beginning --idle-timeout-s=3
--demo first publishes a short made-up series in which web-2's CPU spikes;
real agents would publish samples the same way, e.g.
    echo 'web-1:{"host":"web-1","metric":"cpu","value":95}' | ./bin/runnel produce metrics --key-separator=:
(python3 is Debian's, with python3-grpcio and python3-protobuf.) Topics
("metrics", "alerts") are created with 3 partitions if missing.
"""

import json
import re

from common import add_run_flags, out, parser, records, run, runnel

DEFAULT_RULES = ["cpu>90", "mem>0.95", "disk_free<0.05"]


def parse_rule(text):
    m = re.fullmatch(r"([A-Za-z0-9_.-]+)([<>])(-?[0-9.]+)", text)
    if not m:
        raise SystemExit("bad --rule %r: expected METRIC>LIMIT or METRIC<LIMIT" % text)
    metric, op, limit = m.group(1), m.group(2), float(m.group(3))
    return metric, (lambda v: v > limit) if op == ">" else (lambda v: v < limit), text


def produce_demo(bootstrap, topic):
    cpu = {"web-1": [35, 40, 38, 41, 37, 39], "web-2": [50, 93, 95, 97, 96, 45]}
    with runnel.Producer(bootstrap) as producer:
        for i in range(6):
            for host, series in cpu.items():
                sample = {"host": host, "metric": "cpu", "value": series[i]}
                producer.send(topic, json.dumps(sample), key=host)


def main():
    p = parser(__doc__)
    p.add_argument("--topic", default="metrics")
    p.add_argument("--alerts", default="alerts", help="topic alerts are published to")
    p.add_argument("--group", default="alerting")
    p.add_argument("--rule", action="append", help="METRIC>LIMIT or METRIC<LIMIT (default: %s)" % DEFAULT_RULES)
    p.add_argument("--for", dest="samples", type=int, default=3, help="consecutive samples before alerting")
    p.add_argument("--from-beginning", action="store_true", help="a new group starts at the oldest sample")
    p.add_argument("--demo", action="store_true", help="first publish a demo series")
    add_run_flags(p)
    args = p.parse_args()
    rules = {}
    for metric, broken, text in map(parse_rule, args.rule or DEFAULT_RULES):
        rules.setdefault(metric, []).append((broken, text))

    admin = runnel.Admin(args.bootstrap)
    for topic in (args.topic, args.alerts):
        admin.create_topic(topic, partitions=3, exist_ok=True)
    admin.close()
    if args.demo:
        produce_demo(args.bootstrap, args.topic)

    streak = {}  # (host, rule) -> consecutive samples breaking it
    firing = set()
    with runnel.Producer(args.bootstrap) as producer, runnel.Consumer(
        args.bootstrap,
        group_id=args.group,
        client_id="alerting",
        auto_offset_reset="earliest" if args.from_beginning else "latest",
    ) as consumer:
        consumer.subscribe([args.topic])
        for r in records(consumer, args.idle_timeout_s):
            try:
                sample = json.loads(r.value)
                host, metric, value = sample["host"], sample["metric"], float(sample["value"])
            except (ValueError, KeyError, TypeError):
                continue  # not a sample
            for broken, text in rules.get(metric, ()):
                state = (host, text)
                streak[state] = streak.get(state, 0) + 1 if broken(value) else 0
                if streak[state] >= args.samples and state not in firing:
                    firing.add(state)
                    line = "ALERT host=%s %s=%g (%s for %d samples)" % (host, metric, value, text, args.samples)
                elif streak[state] == 0 and state in firing:
                    firing.discard(state)
                    line = "RESOLVED host=%s %s=%g (%s)" % (host, metric, value, text)
                else:
                    continue
                out(line)
                producer.send(args.alerts, line, key=host, timestamp_ms=r.timestamp_ms)
            producer.flush()


if __name__ == "__main__":
    run(main)
