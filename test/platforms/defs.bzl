"""Tests that run once per platform."""

# Every platform tests run on besides native (runsc's --platform values).
PLATFORMS = ["ptrace", "systrap"]

def platform_sh_test(name, srcs, args = [], data = [], size = "medium", tags = []):
    """Declares `name_<platform>` for each platform.

    Each variant gets, in place of `$(rootpath //runsc)` in `args`, a
    wrapper that runs runsc with `--platform=<platform>`, so a test script
    needs no knowledge of platforms.
    """
    for platform in PLATFORMS:
        wrapper = "//test/platforms:runsc_" + platform
        native.sh_test(
            name = name + "_" + platform,
            srcs = srcs,
            args = [
                "$(rootpath %s)" % wrapper if a == "$(rootpath //runsc)" else a
                for a in args
            ],
            data = data + [wrapper, "//runsc"],
            size = size,
            tags = tags + [platform],
        )
