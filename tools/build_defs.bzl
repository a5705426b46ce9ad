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
