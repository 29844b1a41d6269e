"""A real Runnel cluster for Python tests: one coordinator and N brokers,
started from the built binaries on free loopback ports with their data in a
temporary directory (the Python twin of tests/harness/cluster.h).

Binaries are found under $TEST_SRCDIR/$TEST_WORKSPACE (Bazel runfiles) or
else under bazel-bin of the repository.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import unittest

import grpc

from runnel import Admin, Consumer
from runnel._proto import broker_grpc, broker_pb2, types_pb2
from runnel.cluster import CHANNEL_OPTIONS

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def binary(workspace_path):
    srcdir = os.environ.get("TEST_SRCDIR")
    if srcdir:
        return os.path.join(srcdir, os.environ.get("TEST_WORKSPACE", "runnel"), workspace_path)
    return os.path.join(_REPO, "bazel-bin", workspace_path)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalCluster:
    def __init__(self, brokers=1, session_timeout_ms=6000, heartbeat_interval_ms=200):
        self.root = tempfile.mkdtemp(prefix="runnel-py-", dir=os.environ.get("TEST_TMPDIR"))
        self.session_timeout_ms = session_timeout_ms
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.coordinator_address = "127.0.0.1:%d" % free_port()
        self.broker_addresses = ["127.0.0.1:%d" % free_port() for _ in range(brokers)]
        self._procs = {}  # name -> Popen

    @property
    def bootstrap(self):
        return ",".join(self.broker_addresses)

    def _start(self, name, path, args):
        log = open(os.path.join(self.root, name + ".log"), "wb")
        self._procs[name] = subprocess.Popen(
            [binary(path)] + args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        log.close()

    def log(self, name):
        try:
            with open(os.path.join(self.root, name + ".log"), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def start(self):
        self._start(
            "coordinator",
            "coordinator/runnel-coordinator",
            [
                "--listen=" + self.coordinator_address,
                "--data-dir=" + os.path.join(self.root, "coordinator"),
                "--session-timeout-ms=%d" % self.session_timeout_ms,
            ],
        )
        for i in range(len(self.broker_addresses)):
            self.start_broker(i)
        for i in range(len(self.broker_addresses)):
            self.wait_for_broker(i)
        return self

    def start_broker(self, i):
        self._start(
            "broker-%d" % (i + 1),
            "broker/server/runnel-broker",
            [
                "--id=%d" % (i + 1),
                "--listen=" + self.broker_addresses[i],
                "--coordinator=" + self.coordinator_address,
                "--data-dir=" + os.path.join(self.root, "broker-%d" % (i + 1)),
                "--heartbeat-interval-ms=%d" % self.heartbeat_interval_ms,
                # A new data dir writes its whole write-ahead ring (512 MiB
                # by default): small rings keep the test brokers cheap.
                "--wal-bytes=16777216",
            ],
        )

    def wait_for_broker(self, i, timeout_s=20.0):
        """Waits until broker i is alive in its own metadata (registered)."""
        address = self.broker_addresses[i]
        channel = grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
        stub = broker_grpc.BrokerStub(channel)
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        try:
            while time.monotonic() < deadline:
                for name, proc in self._procs.items():
                    if proc.poll() is not None:
                        raise RuntimeError("%s exited (%d):\n%s" % (name, proc.returncode, self.log(name)))
                try:
                    response = stub.Metadata(broker_pb2.MetadataRequest(), timeout=1)
                    if any(
                        b.id == i + 1 and b.address == address and b.state == types_pb2.BROKER_STATE_ALIVE
                        for b in response.brokers
                    ):
                        return
                    last = "not yet registered"
                except grpc.RpcError as e:
                    last = e.details()
                time.sleep(0.05)
        finally:
            channel.close()
        raise RuntimeError(
            "broker %d not ready: %s\n%s\ncoordinator:\n%s"
            % (i + 1, last, self.log("broker-%d" % (i + 1)), self.log("coordinator"))
        )

    def cli(self, *args, input=None, timeout=60):
        """Runs the C++ `runnel` CLI against the first broker."""
        return subprocess.run(
            [binary("client/cli/runnel")] + list(args) + ["--bootstrap=" + self.broker_addresses[0]],
            input=input,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=timeout,
        )

    def stop(self):
        for proc in self._procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self._procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


class ClusterTestCase(unittest.TestCase):
    """A LocalCluster of `brokers` brokers shared by the tests of a class
    (each test uses its own topics), with an Admin on it."""

    brokers = 1

    @classmethod
    def setUpClass(cls):
        cls.cluster = LocalCluster(brokers=cls.brokers).start()
        cls.bootstrap = cls.cluster.bootstrap
        cls.admin = Admin(cls.bootstrap)

    @classmethod
    def tearDownClass(cls):
        cls.admin.close()
        cls.cluster.stop()

    def read_topic(self, topic, expected, timeout_s=10.0):
        """Every record of `topic` from the beginning: waits until `expected`
        came, then briefly for any more (there should be none)."""
        with Consumer(self.bootstrap) as consumer:
            consumer.assign_topic(topic, "earliest")
            records = []
            deadline = time.monotonic() + timeout_s
            while len(records) < expected and time.monotonic() < deadline:
                records += consumer.poll(0.5)
            return records + consumer.poll(0.2)
