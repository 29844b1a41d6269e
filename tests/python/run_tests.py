"""Runs Python unittest modules and writes a JUnit XML report where Bazel
asks for one ($XML_OUTPUT_FILE), so ./test.sh counts each test case.

Usage: run_tests.py MODULE [MODULE...]   (module names on sys.path)
Exit status: 0 when every test passed, 1 otherwise (also when none ran).
"""

import os
import sys
import time
import unittest
from xml.sax.saxutils import escape, quoteattr


class _Result(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cases = []  # (test id, seconds, None | ("failure"|"error"|"skipped", text))
        self._started = 0.0

    def startTest(self, test):
        self._started = time.monotonic()
        super().startTest(test)

    def _record(self, test, outcome):
        self.cases.append((test.id(), time.monotonic() - self._started, outcome))

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test, None)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, ("failure", self.failures[-1][1]))

    def addError(self, test, err):
        super().addError(test, err)
        self._record(test, ("error", self.errors[-1][1]))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._record(test, ("skipped", reason))


def _write_xml(path, name, result):
    failures = sum(1 for c in result.cases if c[2] and c[2][0] == "failure")
    errors = sum(1 for c in result.cases if c[2] and c[2][0] == "error")
    skipped = sum(1 for c in result.cases if c[2] and c[2][0] == "skipped")
    total = len(result.cases)
    head = 'tests="%d" failures="%d" errors="%d" skipped="%d"' % (total, failures, errors, skipped)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<testsuites %s>" % head]
    lines.append("  <testsuite name=%s %s>" % (quoteattr(name), head))
    for test_id, seconds, outcome in result.cases:
        lines.append('    <testcase name=%s time="%.3f">' % (quoteattr(test_id), seconds))
        if outcome:
            kind, text = outcome
            tag = {"failure": "failure", "error": "error", "skipped": "skipped"}[kind]
            lines.append("      <%s>%s</%s>" % (tag, escape(text), tag))
        lines.append("    </testcase>")
    lines.append("  </testsuite>")
    lines.append("</testsuites>")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main(modules):
    suite = unittest.defaultTestLoader.loadTestsFromNames(modules)
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=2, resultclass=_Result)
    result = runner.run(suite)
    xml = os.environ.get("XML_OUTPUT_FILE")
    if xml:
        _write_xml(xml, "+".join(modules), result)
    ok = result.wasSuccessful() and result.testsRun > 0
    failed = len(result.failures) + len(result.errors)
    print("%d passed, %d failed" % (result.testsRun - failed - len(result.skipped), failed))
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1:]))
