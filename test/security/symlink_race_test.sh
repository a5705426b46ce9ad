#!/bin/bash
# The gofer never follows a symlink out of its root: a guest races symlink
# swaps on a read-write volume (a directory flipping to symlinks to a canary
# directory outside the volume, to "/" and up the tree, and a file flipping
# to symlinks to the canary's secret) while threads open, read, write,
# create, truncate, chmod, chown, utime, link, rename and unlink through
# the swapped path. Afterwards: no file outside the volume was modified
# (content, mode, owner, times), nothing was made outside it, and the
# canary's secret never reached the guest.
#
# The guest cannot see the canary legitimately: relative symlinks out of
# the volume name paths that do not exist in the guest, and an empty volume
# covers the canary's absolute path. So the secret in the guest's output
# could only come from a gofer that followed a symlink.
#   symlink_race_test.sh RUNSC SYMLINK_RACE_BINARY [SECONDS]
set -u
RUNSC=$(realpath "$1")
RACE=$(realpath "$2")
SECONDS_TO_RACE=${3:-5}
pass=0
fail=0
check() {  # check DESCRIPTION CONDITION...
  local desc=$1
  shift
  if "$@"; then pass=$((pass + 1)); echo "ok   - $desc"; else fail=$((fail + 1)); echo "FAIL - $desc"; fi
}

T=$(mktemp -d -p "${TEST_TMPDIR:-/var/tmp}")
trap 'rm -rf "$T"' EXIT
VOL="$T/a/b/vol"
CANARY="$T/canary"
mkdir -p "$VOL" "$CANARY/sub" "$T/empty"
SECRET="canary-secret-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
echo "$SECRET" >"$CANARY/secret"
echo "$SECRET" >"$CANARY/sub/secret"
echo "$SECRET" >"$T/a/secret"  # what "../secret" from the volume's parent names
chmod 640 "$CANARY/secret"
touch -d @1500000000 "$CANARY/secret" "$CANARY/sub/secret" "$T/a/secret"

# Everything outside the volume that the race could reach: the canary, the
# directories above the volume, and the host's root.
snapshot() {
  (
    find "$CANARY" "$T/a/secret" "$T/empty" \
      -printf '%p %y %s %m %u %g %T@ %C@ %n\n'
    stat -c '%n %Y %Z %h' "$T" "$T/a" "$T/a/b"
    ls -A "$T" "$T/a" "$T/a/b"
    md5sum "$CANARY/secret" "$CANARY/sub/secret" "$T/a/secret"
  ) 2>&1
}
root_names="d d.tmp secret secret.tmp new renamed sub hardlink f elsewhere PWNED-file PWNED-symlink"
root_before=""
for n in $root_names; do [ -e "/$n" ] || [ -L "/$n" ] && root_before+="/$n "; done
before=$(snapshot)

out=$("$RUNSC" do -v "$VOL:/vol" -v "$T/empty:$T" -- \
  env CANARY_REL=../../../canary CANARY_ABS="$CANARY" \
  "$RACE" /vol "$SECONDS_TO_RACE" 2>&1)
rc=$?
done_line=$(grep "^DONE" <<<"$out")
check "the race ran to its end (rc=$rc, $done_line)" test $rc -eq 0 -a -n "$done_line"
ops=$(sed -n 's/^DONE ops=\([0-9]*\) swaps=\([0-9]*\)$/\1/p' <<<"$done_line")
swaps=$(sed -n 's/^DONE ops=\([0-9]*\) swaps=\([0-9]*\)$/\2/p' <<<"$done_line")
check "it raced many operations against many swaps ($ops ops, $swaps swaps)" \
  test "${ops:-0}" -gt 1000 -a "${swaps:-0}" -gt 100
check "the canary's secret never reached the guest" \
  bash -c '! grep -q "$1" <<<"$2"' _ "$SECRET" "$out"
grep "^READ" <<<"$out" | head -5
after=$(snapshot)
check "nothing outside the volume changed (contents, modes, owners, times)" \
  test "$before" == "$after"
if [ "$before" != "$after" ]; then diff <(echo "$before") <(echo "$after") | head -20; fi
root_after=""
for n in $root_names; do [ -e "/$n" ] || [ -L "/$n" ] && root_after+="/$n "; done
check "nothing was made in the host's root ($root_after)" test "$root_before" == "$root_after"
check "the volume itself took the writes" test -e "$VOL/d"

echo
echo "$pass passed, $fail failed"
[ "$fail" == 0 ]
