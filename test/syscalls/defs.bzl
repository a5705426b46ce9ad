"""syscall_test: one gtest program, run natively and under each platform."""

load("//test/platforms:defs.bzl", "PLATFORMS")
load("//tools:build_defs.bzl", "COPTS")

def syscall_test(name, srcs, deps = [], size = "small", tags = []):
    """Builds `name` and declares `name_native` and `name_<platform>` tests.

    The program must pass natively first: that is the Linux reference. The
    platform variants run the same binary under `runsc do`; a failure names
    the platform and every failing test case.
    """
    native.cc_binary(
        name = name,
        srcs = srcs,
        # The tests hand the kernel bad buffers and lengths on purpose.
        copts = COPTS + ["-Wno-stringop-overflow", "-Wno-stringop-overread", "-Wno-nonnull"],
        testonly = True,
        deps = deps + [
            "//test/util:test_util",
            "//third_party/system:gmock",
            "//third_party/system:gtest_main",
        ],
    )
    for platform in ["native"] + PLATFORMS:
        native.sh_test(
            name = name + "_" + platform,
            srcs = ["//test/syscalls:run_syscall_test.sh"],
            args = [
                platform,
                "$(rootpath //runsc)",
                "$(rootpath :%s)" % name,
            ],
            data = [":" + name, "//runsc"],
            size = size,
            # The Linux reference runs outside Bazel's sandbox: its user
            # namespace maps only the caller's ids, so setuid(2) and
            # friends would not behave as on the real kernel.
            tags = tags + ["syscall_test", platform] +
                   (["no-sandbox"] if platform == "native" else []),
        )
