#!/bin/bash
# `runsc do -v HOST:GUEST[:ro]`: what the guest does in a read-write volume
# reaches the host directory, checked on the host afterwards; a :ro volume
# refuses every change with EROFS; bad -v values are refused with a clear
# message; if a volume's gofer dies, its files fail with EIO while the
# sandbox and its tmpfs go on, and runsc says so.
set -u
RUNSC=$(realpath "$1")
source "$(dirname "$0")/lib.sh"

# check DESCRIPTION CONDITION...
check() {
  local desc=$1
  shift
  if "$@"; then ok "$desc"; else bad "$desc"; fi
}

H="$TMP/host"
mkdir -p "$H/old/sub"
echo "to be read" >"$H/readme"
echo "remove me" >"$H/old/gone"
echo "append to" >"$H/appendee"
printf '0123456789' >"$H/trunc"
echo "orig" >"$H/chmodme"

out=$("$RUNSC" do -v "$H:/vol" -- /bin/sh -c '
  set -e
  cd /vol
  cat readme
  echo created >new
  echo more >>appendee
  truncate -s 4 trunc
  mkdir -m 750 madedir
  echo inside >madedir/f
  mv madedir renamed
  ln new hardlink
  ln -s readme symlink
  chmod 604 chmodme
  touch -m -d @1000000000 chmodme
  rm old/gone
  rmdir old/sub
  mkfifo fifo
  stat -c "%s" new trunc
  stat -c "%h" new
  grep " /vol " /proc/mounts
' 2>&1)
rc=$?
check "the guest's commands succeed (rc=$rc: ${out:0:300})" test $rc -eq 0
check "reads see the host's file" grep -q "^to be read$" <<<"$out"
check "stat in the guest sees sizes after writes" \
  grep -qz "8"$'\n'"4"$'\n'"2" <<<"$out"
check "/proc/mounts lists the volume read-write" \
  grep -q "^$H /vol 9p rw" <<<"$out"
check "create + write reached the host" test "$(cat "$H/new" 2>/dev/null)" == "created"
check "append reached the host" \
  test "$(cat "$H/appendee" 2>/dev/null)" == "append to"$'\n'"more"
check "truncate reached the host" test "$(cat "$H/trunc" 2>/dev/null)" == "0123"
check "mkdir with its mode, and rename, reached the host" \
  test "$(stat -c %a "$H/renamed" 2>/dev/null)" == "750" -a ! -e "$H/madedir"
check "a file in the renamed directory" \
  test "$(cat "$H/renamed/f" 2>/dev/null)" == "inside"
check "link is a hard link on the host" \
  test "$(stat -c %i "$H/new")" == "$(stat -c %i "$H/hardlink" 2>/dev/null)"
check "symlink reached the host" test "$(readlink "$H/symlink")" == "readme"
check "chmod reached the host" test "$(stat -c %a "$H/chmodme")" == "604"
check "utimes reached the host" test "$(stat -c %Y "$H/chmodme")" == "1000000000"
check "unlink reached the host" test ! -e "$H/old/gone"
check "rmdir reached the host" test ! -e "$H/old/sub"
check "mkfifo made a FIFO on the host" test -p "$H/fifo"
check "new files belong to the caller" \
  test "$(stat -c %u:%g "$H/new")" == "$(id -u):$(id -g)"

# A read-only volume: reads work, every change is EROFS, nothing changes.
before=$(ls -laR --time-style=full-iso "$H" | md5sum)
out=$("$RUNSC" do -v "$H:/ro:ro" -- /bin/sh -c '
  cat /ro/readme
  for c in "touch /ro/x" "rm /ro/new" "mkdir /ro/d" "chmod 777 /ro/new" \
           "mv /ro/new /ro/n2" "ln -s a /ro/l" "truncate -s 0 /ro/new" \
           "touch /ro/new"; do
    $c 2>&1 | grep -q "Read-only file system" && echo "EROFS: $c"
  done
  (echo x >>/ro/new) 2>&1 | grep -q "Read-only file system" && echo "EROFS: append"
  grep " /ro " /proc/mounts
' 2>&1)
check "a :ro volume reads" grep -q "^to be read$" <<<"$out"
check "a :ro volume refuses every change with EROFS ($(grep -c EROFS <<<"$out")/9)" \
  test "$(grep -c "^EROFS" <<<"$out")" == 9
check "/proc/mounts lists the :ro volume read-only" grep -q "^$H /ro 9p ro" <<<"$out"
check "the host directory did not change under :ro" \
  test "$(ls -laR --time-style=full-iso "$H" | md5sum)" == "$before"

# Several volumes, one below /tmp (the sandbox's tmpfs), one nested.
mkdir -p "$TMP/h2"
out=$("$RUNSC" do -v "$H:/tmp/a" --volume "$TMP/h2:/mnt/deep/b" -- /bin/sh -c '
  cat /tmp/a/readme && echo two >/mnt/deep/b/two' 2>&1)
check "a volume below /tmp and one at a new path ($out)" \
  test "$out" == "to be read" -a "$(cat "$TMP/h2/two" 2>/dev/null)" == "two"

# Bad values are refused before anything runs.
expect_v() {  # expect_v DESCRIPTION STDERR_REGEX VALUE
  local err rc
  err=$("$RUNSC" do -v "$3" -- true 2>&1)
  rc=$?
  if [ $rc == 125 ] && [[ "$err" =~ $2 ]]; then ok "$1"; else bad "$1 (rc=$rc: $err)"; fi
}
expect_v "a relative GUEST is refused" "absolute" "$H:vol"
expect_v "GUEST with .. is refused" "\.\." "$H:/a/../b"
expect_v "GUEST in /proc is refused" "/proc" "$H:/proc/x"
expect_v "GUEST in /sys is refused" "/sys" "$H:/sys"
expect_v "GUEST in /dev is refused" "/dev" "$H:/dev/x"
expect_v "GUEST / is refused" "may not be /" "$H:/"
expect_v "a missing HOST is refused" "No such file" "$TMP/nope:/x"
expect_v "a HOST that is a file is refused" "not a directory" "$H/readme:/x"
expect_v "an unknown option is refused" "options" "$H:/x:rx"
err=$("$RUNSC" do -v "$H:/x" -v "$H:/x/" -- true 2>&1)
check "the same GUEST twice is refused ($err)" grep -q "twice" <<<"$err"

# The gofer of a volume dies: its files fail with EIO, the sandbox and its
# tmpfs go on, and runsc reports it.
rm -f "$H/ready"
"$RUNSC" do -v "$H:/vol" -- /bin/sh -c '
  cat /vol/readme >/dev/null
  touch /vol/ready
  i=0
  while [ $i -lt 200 ]; do
    if ! cat /vol/readme >/dev/null 2>/tmp/err; then break; fi
    i=$((i + 1)); sleep 0.05
  done
  cat /tmp/err
  echo tmpfs-works >/tmp/t && cat /tmp/t
  ls /vol 2>&1 | head -1
  echo survivor
' >"$TMP/death.out" 2>"$TMP/death.err" &
runsc_pid=$!
for _ in $(seq 100); do [ -e "$H/ready" ] && break; sleep 0.1; done
# The volume's gofer: a child of runsc serving from an fd (--gofer_root_fd).
gofer_pid=""
for p in $(pgrep -P $runsc_pid); do
  if tr '\0' ' ' <"/proc/$p/cmdline" | grep -q -- "--gofer_root_fd"; then gofer_pid=$p; fi
done
check "the volume's gofer is a child of runsc" test -n "$gofer_pid"
[ -n "$gofer_pid" ] && kill -KILL "$gofer_pid"
wait $runsc_pid
rc=$?
out=$(cat "$TMP/death.out")
check "the sandbox survives the gofer's death (rc=$rc)" test $rc -eq 0
check "files on the volume fail with EIO" grep -q "Input/output error" <<<"$out"
check "the sandbox's tmpfs keeps working" grep -q "^tmpfs-works$" <<<"$out"
check "the guest runs on to its end" grep -q "^survivor$" <<<"$out"
check "runsc reports the gofer's death ($(head -c 200 "$TMP/death.err"))" \
  grep -q "gofer of volume $H:/vol .*killed by signal 9" "$TMP/death.err"

summary
