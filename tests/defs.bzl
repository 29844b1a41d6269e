"""process_test: a cc_test that starts real Runnel processes.

Every such test needs the three binaries in its runfiles and the harness;
this keeps those in one place.
"""

RUNNEL_BINARIES = [
    "//broker/server:runnel-broker",
    "//client/cli:runnel",
    "//coordinator:runnel-coordinator",
]

def process_test(name, deps = [], data = [], size = "medium", **kwargs):
    native.cc_test(
        name = name,
        size = size,
        srcs = [name + ".cc"],
        data = RUNNEL_BINARIES + data,
        deps = deps + [
            "//tests/harness",
            "@system//:absl",
            "@system//:gtest_main",
        ],
        **kwargs
    )
