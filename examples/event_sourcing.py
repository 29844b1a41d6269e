#!/usr/bin/python3
"""Event sourcing: the topic is the source of truth; state is rebuilt by
replaying it.

Bank accounts as a stream of events, keyed by account id so that each
account's events stay in order on one partition. Commands append events:
    event_sourcing.py open alice
    event_sourcing.py deposit alice 100
    event_sourcing.py withdraw alice 30
A withdrawal larger than the balance is refused: the command first rebuilds
the account's current state by replaying its partition (this assumes one writer
per account at a time; a real system runs one command handler per partition).
`replay` rebuilds
every account from the first event to the end of the log as it is now and
prints the balances, e.g.
    alice balance=70 events=3
    replayed 3 events from 3 partitions
`replay --as-of-ms=T` rebuilds the state as it was at time T (events are
timestamped when they happen), the other thing event sourcing gives you.

Run against ./run.sh's cluster (127.0.0.1:9092), from the repository root:
    python3 examples/event_sourcing.py open alice
    python3 examples/event_sourcing.py deposit alice 100
    python3 examples/event_sourcing.py replay
(python3 is Debian's, with python3-grpcio and python3-protobuf.) The topic
("account-events", --topic) is created with 3 partitions if missing.
"""

import json
import sys

from common import out, parser, run, runnel


def apply(state, event):
    """The one place that gives events their meaning: state -> new state."""
    kind, amount = event["type"], event.get("amount", 0)
    if kind == "opened":
        return {"balance": 0, "events": 1, "open": True}
    if state is None:
        return None  # events before opening are ignored
    state = dict(state, events=state["events"] + 1)
    if kind == "deposited":
        state["balance"] += amount
    elif kind == "withdrew":
        state["balance"] -= amount
    elif kind == "closed":
        state["open"] = False
    return state


def replay(bootstrap, topic, partitions=None, as_of_ms=None):
    """{account: state} from the start of the log to its current end."""
    admin = runnel.Admin(bootstrap)
    ends = admin.end_offsets(topic)
    if partitions is not None:
        ends = {p: ends[p] for p in partitions}
    todo = {p for p, end in ends.items() if end > 0}
    states = {}
    count = 0
    with runnel.Consumer(bootstrap) as consumer:
        consumer.assign([(topic, p, "earliest") for p in sorted(todo)])
        while todo:
            for r in consumer.poll(1.0):
                if r.offset >= ends[r.partition]:
                    continue  # written after the replay started
                if as_of_ms is None or r.timestamp_ms <= as_of_ms:
                    account = r.key.decode()
                    states[account] = apply(states.get(account), json.loads(r.value))
                    count += 1
            todo = {p for p in todo if consumer.position(topic, p) < ends[p]}
    admin.close()
    return states, count, len(ends)


def main():
    p = parser(__doc__)
    p.add_argument("--topic", default="account-events")
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("open", "close"):
        sub.add_parser(name).add_argument("account")
    for name in ("deposit", "withdraw"):
        c = sub.add_parser(name)
        c.add_argument("account")
        c.add_argument("amount", type=int)
    r = sub.add_parser("replay")
    r.add_argument("--as-of-ms", type=int, help="rebuild the state as of this time (ms since the epoch)")
    args = p.parse_args()

    admin = runnel.Admin(args.bootstrap)
    admin.create_topic(args.topic, partitions=3, exist_ok=True)
    admin.close()
    if args.command == "replay":
        states, count, partitions = replay(args.bootstrap, args.topic, as_of_ms=args.as_of_ms)
        for account in sorted(states):
            s = states[account]
            if s is not None:
                out(
                    "%s balance=%d events=%d%s"
                    % (account, s["balance"], s["events"], "" if s["open"] else " closed")
                )
        out("replayed %d events from %d partitions" % (count, partitions))
        return

    with runnel.Producer(args.bootstrap) as producer:
        partition = producer.partition_for(args.topic, args.account)
        states, _, _ = replay(args.bootstrap, args.topic, partitions=[partition])
        state = states.get(args.account)
        if args.command != "open" and (state is None or not state["open"]):
            sys.exit("account %s is not open" % args.account)
        if args.command == "withdraw" and args.amount > state["balance"]:
            sys.exit("refused: %s has %d, cannot withdraw %d" % (args.account, state["balance"], args.amount))
        kind = {"open": "opened", "close": "closed", "deposit": "deposited", "withdraw": "withdrew"}
        event = {"type": kind[args.command]}
        if args.command in ("deposit", "withdraw"):
            event["amount"] = args.amount
        meta = producer.produce(args.topic, json.dumps(event), key=args.account)
    out("%s %s at %s-%d offset %d" % (args.account, event["type"], meta.topic, meta.partition, meta.offset))


if __name__ == "__main__":
    run(main)
