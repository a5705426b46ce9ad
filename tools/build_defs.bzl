"""Build settings shared by every project target."""

# Warnings are errors on project code (never on Debian's headers, which are
# -isystem through the default toolchain).
COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unused-parameter",
    "-Wno-missing-field-initializers",
]

def static_c_binary(name, srcs, **kwargs):
    """A fully static, non-PIE C test program (no dynamic loader at start)."""
    native.cc_binary(
        name = name,
        srcs = srcs,
        copts = COPTS + ["-fno-pie"],
        features = ["fully_static_link"],
        linkopts = [
            "-static",
            "-no-pie",
        ],
        **kwargs
    )
