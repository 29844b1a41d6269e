"""Shared by the Python examples: makes the runnel package of this checkout
(client/python) importable, and the flags and loop every example uses."""

import argparse
import os
import sys
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(_HERE), "client", "python"))

import runnel  # noqa: E402,F401  (re-exported for the examples)


def parser(doc):
    """An ArgumentParser whose help is the example's docstring, with
    --bootstrap (default $RUNNEL_BOOTSTRAP or 127.0.0.1:9092, ./run.sh's broker)."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--bootstrap",
        default=os.environ.get("RUNNEL_BOOTSTRAP", "127.0.0.1:9092"),
        help="host:port of any broker (default: %(default)s)",
    )
    return p


def add_run_flags(p):
    p.add_argument(
        "--idle-timeout-s",
        type=float,
        default=0,
        help="stop after this many seconds without a record, counted once partitions "
        "are assigned (default: run until Ctrl-C)",
    )


def records(consumer, idle_timeout_s, poll_s=0.5):
    """Yields records from consumer.poll() until Ctrl-C or, when
    idle_timeout_s > 0, until no record came for that long while the
    consumer had partitions (a group member may wait for some at first)."""
    last = time.monotonic()
    try:
        while True:
            batch = consumer.poll(poll_s)
            if batch or not consumer.assignment():
                last = time.monotonic()
            elif idle_timeout_s > 0 and time.monotonic() - last >= idle_timeout_s:
                return
            yield from batch
    except KeyboardInterrupt:
        return


def out(line):
    """Prints a result line at once (the examples are read through pipes)."""
    print(line, flush=True)


def run(main):
    """Runs an example's main, turning client errors into one line on
    stderr and exit status 1 instead of a traceback."""
    try:
        main()
    except runnel.RunnelError as e:
        sys.exit("%s: %s" % (os.path.basename(sys.argv[0]), e))
