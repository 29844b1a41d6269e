#!/usr/bin/python3
"""Streaming ETL: consume, transform, produce to another topic, with
consumer-group offsets so a restart continues where the last run stopped.

Reads raw orders, one CSV line per record ("order_id,customer,sku,qty,unit_price"),
checks and enriches them, and writes JSON to the output topic keyed by customer
(so one customer's orders stay in order on one partition):
    {"order_id": "o-17", "customer": "c-3", "sku": "SKU-9", "qty": 2,
     "unit_price": 4.5, "total": 9.0, "source_offset": "raw-orders/1/42"}
Lines that do not parse go to the dead-letter topic with the error in a header.

Delivery is at least once: the output is flushed (acknowledged by the
brokers) before the group's offsets are committed, so a crash between the
two repeats some records but never loses one. Run several copies with the
same --group to share the partitions; each prints
    processed N records: M transformed, K dead-lettered

Run against ./run.sh's cluster (127.0.0.1:9092), from the repository root:
    ./bin/runnel topic create raw-orders --partitions=3
    printf 'o-1,c-1,SKU-1,2,4.50\\nbroken\\n' | ./bin/runnel produce raw-orders
    python3 examples/streaming_etl.py --idle-timeout-s=5
    ./bin/runnel consume orders-clean --from-beginning --timeout-ms=2000
(python3 is Debian's, with python3-grpcio and python3-protobuf.) Missing topics
are created with 3 partitions.
"""

import json

from common import add_run_flags, out, parser, records, run, runnel

FIELDS = ("order_id", "customer", "sku", "qty", "unit_price")


def transform(value):
    """Raw CSV line -> cleaned order dict; ValueError says what is wrong."""
    parts = [p.strip() for p in value.decode().split(",")]
    if len(parts) != len(FIELDS):
        raise ValueError("expected %d fields, got %d" % (len(FIELDS), len(parts)))
    order = dict(zip(FIELDS, parts))
    order["qty"] = int(order["qty"])
    order["unit_price"] = float(order["unit_price"])
    if order["qty"] <= 0 or order["unit_price"] < 0:
        raise ValueError("qty must be positive and unit_price not negative")
    order["sku"] = order["sku"].upper()
    order["total"] = round(order["qty"] * order["unit_price"], 2)
    return order


def main():
    p = parser(__doc__)
    p.add_argument("--input", default="raw-orders")
    p.add_argument("--output", default="orders-clean")
    p.add_argument("--dead-letter", default="orders-dead-letter")
    p.add_argument("--group", default="orders-etl")
    p.add_argument("--commit-every", type=int, default=100, help="records between commits")
    add_run_flags(p)
    args = p.parse_args()

    admin = runnel.Admin(args.bootstrap)
    for topic in (args.input, args.output, args.dead_letter):
        admin.create_topic(topic, partitions=3, exist_ok=True)
    admin.close()

    producer = runnel.Producer(args.bootstrap, linger_ms=50)

    def checkpoint():
        # Output first, offsets second: at least once.
        producer.flush()
        try:
            consumer.commit()
        except runnel.CommitFailedError as e:
            # This member was fenced (e.g. it stalled past its session
            # timeout): another member owns the partitions and will repeat
            # what was not committed.
            out("commit fenced: %s" % e)

    consumer = runnel.Consumer(
        args.bootstrap,
        group_id=args.group,
        client_id="streaming-etl",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        # Before a partition moves to another copy, finish what was read from it.
        on_revoke=lambda partitions: checkpoint(),
    )
    consumer.subscribe([args.input])
    done = bad = since_commit = 0
    try:
        for r in records(consumer, args.idle_timeout_s):
            source = "%s/%d/%d" % (r.topic, r.partition, r.offset)
            try:
                order = transform(r.value or b"")
                order["source_offset"] = source
                producer.send(args.output, json.dumps(order, sort_keys=True), key=order["customer"])
                done += 1
            except ValueError as e:
                producer.send(
                    args.dead_letter, r.value, key=r.key, headers=[("error", str(e)), ("source", source)]
                )
                bad += 1
            since_commit += 1
            if since_commit >= args.commit_every:
                checkpoint()
                since_commit = 0
        checkpoint()
    finally:
        consumer.close()
        producer.close()
    out("processed %d records: %d transformed, %d dead-lettered" % (done + bad, done, bad))


if __name__ == "__main__":
    run(main)
