"""Smoke tests of examples/: each example runs briefly against a real
cluster and its output (and what it wrote to topics) is checked."""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

from runnel import Producer

import cluster as local_cluster

EXAMPLES = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "examples"
)


class ExamplesTest(local_cluster.ClusterTestCase):
    def start(self, example, *args):
        return subprocess.Popen(
            [sys.executable, os.path.join(EXAMPLES, example), "--bootstrap=" + self.bootstrap] + list(args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def run_example(self, example, *args, expect_rc=0):
        proc = self.start(example, *args)
        stdout, stderr = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, expect_rc, "%s %s:\n%s" % (example, args, stderr.decode()))
        return stdout.decode().splitlines(), stderr.decode()

    def test_log_aggregation(self):
        with tempfile.NamedTemporaryFile("w", suffix=".log", dir=os.environ.get("TEST_TMPDIR")) as f:
            f.write("line 1\nline 2\n")
            f.flush()
            proc = self.start("log_aggregation.py", "--topic=agg-logs", "--from-start", "--duration-s=2.5", f.name)
            time.sleep(1.2)
            f.write("line 3\npartial")  # the unfinished line is not shipped
            f.flush()
            stdout, stderr = proc.communicate(timeout=30)
            self.assertEqual(proc.returncode, 0, stderr.decode())
            self.assertEqual(stdout.decode().splitlines(), ["shipped 3 lines from %s to agg-logs" % f.name])
            records = self.read_topic("agg-logs", 3)
        self.assertEqual([r.value for r in records], [b"line 1", b"line 2", b"line 3"])
        self.assertEqual(len({(r.key, r.partition) for r in records}), 1)
        self.assertTrue(records[0].key.decode().endswith(":" + f.name))
        self.assertEqual(dict(records[0].headers)["path"], f.name.encode())

    def test_realtime_analytics(self):
        topic = "views-test"
        self.admin.create_topic(topic, partitions=1)  # one partition: a deterministic order
        t0 = 1_700_000_000_000  # a multiple of 10 s
        events = [(t0 + 1000, "/a"), (t0 + 2000, "/b"), (t0 + 3000, "/a"), (t0 + 9000, "/b"),
                  (t0 + 12000, "/a"), (t0 + 9500, "/a"),  # a little late: still counted
                  (t0 + 40000, "/c"), (t0 + 1500, "/b")]  # far too late: dropped
        with Producer(self.bootstrap) as producer:
            for ts, page in events:
                producer.send(topic, "user", key=page, timestamp_ms=ts)
        lines, _ = self.run_example(
            "realtime_analytics.py", "--topic=" + topic, "--from-beginning", "--window-s=10",
            "--lateness-s=5", "--idle-timeout-s=1.5")
        stamp = lambda ms: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))
        self.assertEqual(lines, [
            "window %s +10s views=5 /a=3 /b=2" % stamp(t0),
            "window %s +10s views=1 /a=1" % stamp(t0 + 10000),
            "window %s +10s views=1 /c=1" % stamp(t0 + 40000),
            "done: 1 late records dropped",
        ])
        # The demo over 3 partitions, read one batch at a time: the watermark
        # follows the slowest partition, so nothing counts as late.
        lines, _ = self.run_example(
            "realtime_analytics.py", "--topic=views-demo", "--demo=600", "--from-beginning", "--idle-timeout-s=1.5")
        self.assertEqual(lines[-1], "done: 0 late records dropped")
        self.assertEqual(sum(int(line.split()[3][len("views="):]) for line in lines[:-1]), 600)

    def test_event_sourcing(self):
        topic = "--topic=accounts-test"
        for cmd in (["open", "alice"], ["deposit", "alice", "100"], ["withdraw", "alice", "30"],
                    ["open", "bob"], ["deposit", "bob", "5"], ["close", "bob"]):
            lines, _ = self.run_example("event_sourcing.py", topic, *cmd)
            self.assertRegex(lines[0], r"^%s \w+ at accounts-test-\d offset \d+$" % cmd[1])
        _, stderr = self.run_example("event_sourcing.py", topic, "withdraw", "alice", "500", expect_rc=1)
        self.assertIn("refused: alice has 70, cannot withdraw 500", stderr)
        _, stderr = self.run_example("event_sourcing.py", topic, "deposit", "carol", "1", expect_rc=1)
        self.assertIn("account carol is not open", stderr)
        lines, _ = self.run_example("event_sourcing.py", topic, "replay")
        self.assertEqual(lines, ["alice balance=70 events=3", "bob balance=5 events=3 closed",
                                 "replayed 6 events from 3 partitions"])
        # As of before bob's events (all of alice's came first).
        bob_first = min(r.timestamp_ms for r in self.read_topic("accounts-test", 6) if r.key == b"bob")
        lines, _ = self.run_example("event_sourcing.py", topic, "replay", "--as-of-ms=%d" % (bob_first - 1))
        self.assertEqual(lines[0], "alice balance=70 events=3")
        self.assertEqual(lines[-1], "replayed 3 events from 3 partitions")

    def test_streaming_etl_resumes_from_committed_offsets(self):
        raw, clean, dead = "etl-raw", "etl-clean", "etl-dead"
        flags = ["--input=" + raw, "--output=" + clean, "--dead-letter=" + dead, "--group=etl-test",
                 "--idle-timeout-s=1.5", "--commit-every=3"]
        self.admin.create_topic(raw, partitions=3)
        rows = ["o-%d,c-%d,sku-%d,%d,2.50" % (i, i % 3, i, i + 1) for i in range(8)]
        rows += ["broken line", "o-9,c-1,sku-9,0,1.00"]
        with Producer(self.bootstrap) as producer:
            for row in rows:
                producer.send(raw, row)
        lines, _ = self.run_example("streaming_etl.py", *flags)
        self.assertEqual(lines, ["processed 10 records: 8 transformed, 2 dead-lettered"])
        orders = [json.loads(r.value) for r in self.read_topic(clean, 8)]
        self.assertEqual(sorted(o["order_id"] for o in orders), ["o-%d" % i for i in range(8)])
        o3 = next(o for o in orders if o["order_id"] == "o-3")
        self.assertEqual((o3["sku"], o3["qty"], o3["total"]), ("SKU-3", 4, 10.0))
        errors = sorted(dict(r.headers)["error"].decode() for r in self.read_topic(dead, 2))
        self.assertEqual(errors, ["expected 5 fields, got 1", "qty must be positive and unit_price not negative"])

        # A restart continues after the committed offsets.
        with Producer(self.bootstrap) as producer:
            for i in range(10, 13):
                producer.send(raw, "o-%d,c-0,sku-1,1,1.00" % i)
        lines, _ = self.run_example("streaming_etl.py", *flags)
        self.assertEqual(lines, ["processed 3 records: 3 transformed, 0 dead-lettered"])
        self.assertEqual(len(self.read_topic(clean, 11)), 11)

    def test_monitoring_alerting(self):
        lines, _ = self.run_example(
            "monitoring_alerting.py", "--topic=metrics-test", "--alerts=alerts-test", "--group=alert-test",
            "--demo", "--from-beginning", "--idle-timeout-s=1.5")
        self.assertEqual(lines, ["ALERT host=web-2 cpu=97 (cpu>90 for 3 samples)",
                                 "RESOLVED host=web-2 cpu=45 (cpu>90)"])
        self.assertEqual([r.value.decode() for r in self.read_topic("alerts-test", 2)], lines)


if __name__ == "__main__":
    unittest.main()
