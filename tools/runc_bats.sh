#!/usr/bin/env bash
# Run runc's own bats integration suite (Debian bookworm's runc source
# package, 1.1.5+ds1) against an OCI runtime with runc's command line.
#
# Usage: tools/runc_bats.sh [RUNTIME] [FILE.bats ...]
#
#   RUNTIME   path to the runtime binary (runc, runsc, ...). Default: $RUNTIME,
#             else bazel-bin/runsc/runsc of this checkout.
#   FILE.bats optional subset of test files (basenames); default: all.
#
# Environment (all optional):
#   WORKDIR        where the source, helpers, images and results live
#                  (default /var/tmp/runc-bats)
#   RESULTS_DIR    per-file TAP output (default $WORKDIR/results/<runtime name>)
#   FILE_TIMEOUT   seconds allowed per .bats file (default 300)
#   TEST_TIMEOUT   seconds allowed per test (bats' BATS_TEST_TIMEOUT; default
#                  off: its watchdog is a background job, so tests that call a
#                  bare `wait` (events.bats) then always time out)
#   DEBIAN_MIRROR  mirror for debootstrap (default http://deb.debian.org/debian)
#   NO_APT=1       never call apt-get (fail if something is missing)
#   STRICT=1       exit 1 if any test failed or a file timed out
#
# Needs root. No internet except the Debian archive: the busybox and debian
# test images that runc's get-images.sh would download are built locally
# (busybox-static; debootstrap --variant=minbase) and pre-placed where
# get-images.sh looks for them, so no test file is edited.
#
# Output: RESULTS_DIR/<file>.tap (TAP from bats), <file>.err (bats stderr),
# summary.txt ("file pass fail skip notrun status"; summary-partial.txt
# when FILE.bats arguments were given), and a closing line
# "N passed, N failed, N skipped".

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORKDIR=${WORKDIR:-/var/tmp/runc-bats}
FILE_TIMEOUT=${FILE_TIMEOUT:-300}
TEST_TIMEOUT=${TEST_TIMEOUT:-}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
RUNC_SRC_VERSION=1.1.5+ds1
SRC_PARENT="$WORKDIR/src"
SRC="$SRC_PARENT/runc-$RUNC_SRC_VERSION"
GOPATH_DIR="$WORKDIR/gopath"
IMAGES="$WORKDIR/images"

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- arguments
RUNTIME_ARG=${1:-${RUNTIME:-}}
if [[ -z "$RUNTIME_ARG" ]]; then
	RUNTIME_ARG="$SCRIPT_DIR/../bazel-bin/runsc/runsc"
fi
if [[ $# -gt 0 ]]; then shift; fi
SELECTED_FILES=("$@")

[[ -x "$RUNTIME_ARG" ]] || die "runtime '$RUNTIME_ARG' is not an executable"
RUNTIME_BIN=$(readlink -f "$RUNTIME_ARG")
RUNTIME_NAME=$(basename "$RUNTIME_BIN")
RESULTS_DIR=${RESULTS_DIR:-$WORKDIR/results/$RUNTIME_NAME}

[[ $(id -u) -eq 0 ]] || die "must run as root (runc's suite runs its root tests only as root)"

# ---------------------------------------------------------------- packages
GO_DEV_PKGS=(
	golang-go golang-dbus-dev golang-github-checkpoint-restore-go-criu-dev
	golang-github-cilium-ebpf-dev golang-github-containerd-console-dev
	golang-github-coreos-go-systemd-dev golang-github-cyphar-filepath-securejoin-dev
	golang-github-docker-go-units-dev golang-github-moby-sys-dev
	golang-github-mrunalp-fileutils-dev golang-github-opencontainers-selinux-dev
	golang-github-opencontainers-specs-dev golang-github-seccomp-libseccomp-golang-dev
	golang-github-sirupsen-logrus-dev golang-github-urfave-cli-dev
	golang-github-vishvananda-netlink-dev golang-gocapability-dev
	golang-golang-x-net-dev golang-google-protobuf-dev
)
TOOL_PKGS=(bats jq gawk gcc libc6-dev busybox-static debootstrap dpkg-dev
	xz-utils util-linux bsdutils procps coreutils)

ensure_packages() {
	local missing=() p
	for p in "$@"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
			missing+=("$p")
		fi
	done
	[[ ${#missing[@]} -eq 0 ]] && return 0
	[[ "${NO_APT:-0}" == 1 ]] && die "missing packages (NO_APT=1): ${missing[*]}"
	log "apt-get install ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
		{ apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2; }
}

ensure_packages "${TOOL_PKGS[@]}" "${GO_DEV_PKGS[@]}"

# ---------------------------------------------------------------- source
fetch_source() {
	[[ -f "$SRC/tests/integration/helpers.bash" ]] && return 0
	[[ "${NO_APT:-0}" == 1 ]] && die "runc source missing at $SRC (NO_APT=1)"
	mkdir -p "$SRC_PARENT"
	if ! apt-cache showsrc runc 2>/dev/null | grep -q "^Version: $RUNC_SRC_VERSION"; then
		local f=/etc/apt/sources.list.d/debian-src.sources
		if [[ ! -e "$f" ]]; then
			log "adding deb-src entry $f"
			cat >"$f" <<-'EOF'
				Types: deb-src
				URIs: http://deb.debian.org/debian
				Suites: bookworm bookworm-updates
				Components: main
				Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
			EOF
		fi
		apt-get update >&2
	fi
	log "apt-get source runc into $SRC_PARENT"
	(cd "$SRC_PARENT" && apt-get source runc >&2)
	[[ -f "$SRC/tests/integration/helpers.bash" ]] || die "runc source not found at $SRC after apt-get source"
}
fetch_source
TESTS="$SRC/tests/integration"
TESTDATA="$TESTS/testdata"

# ---------------------------------------------------------------- helpers
# The Debian source has no vendor/ directory (+ds repack): build in GOPATH
# mode against Debian's golang-*-dev packages (/usr/share/gocode), offline.
build_helpers() {
	mkdir -p "$GOPATH_DIR/src/github.com/opencontainers"
	ln -sfn "$SRC" "$GOPATH_DIR/src/github.com/opencontainers/runc"
	local c
	for c in recvtty sd-helper seccompagent; do
		local out="$SRC/contrib/cmd/$c/$c"
		[[ -x "$out" ]] && continue
		log "building contrib/cmd/$c"
		if ! (cd "$GOPATH_DIR/src/github.com/opencontainers/runc" &&
			GO111MODULE=off GOFLAGS='' GOPROXY=off GOPATH="$GOPATH_DIR:/usr/share/gocode" \
				GOCACHE="$WORKDIR/gocache" nice go build -tags seccomp -o "$out" "./contrib/cmd/$c" >&2); then
			log "WARNING: could not build $c; tests that need it will fail"
		fi
	done
}
build_helpers

# ---------------------------------------------------------------- images
GOARCH_NAME=$(go env GOARCH)
BUSYBOX_TAR="$TESTDATA/busybox-$GOARCH_NAME.tar.xz"
DEBIAN_TAR="$TESTDATA/debian-$GOARCH_NAME.tar.xz"

# Debian's static busybox at ROOT/bin with a link per applet.
install_busybox() {
	local r="$1" a
	cp /bin/busybox "$r/bin/busybox"
	for a in $(/bin/busybox --list); do
		[[ "$a" == busybox ]] && continue
		ln -sf busybox "$r/bin/$a"
	done
}

# Like docker-library's busybox (glibc) image that runc's tests use:
# /bin/busybox + applets in /bin, /etc/passwd and /etc/group, /root, /tmp...
build_busybox_image() {
	[[ -s "$BUSYBOX_TAR" ]] && return 0
	log "building busybox image $BUSYBOX_TAR"
	local r="$IMAGES/busybox-rootfs"
	rm -rf "$r"
	mkdir -p "$r"/{bin,etc,home,root,tmp,usr/sbin,var/spool/mail,var/www,dev} # no /proc, /sys: mask.bats symlinks them
	chmod 1777 "$r/tmp"
	chmod 700 "$r/root"
	install_busybox "$r"
	cat >"$r/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/sh
		daemon:x:1:1:daemon:/usr/sbin:/bin/false
		bin:x:2:2:bin:/bin:/bin/false
		sys:x:3:3:sys:/dev:/bin/false
		sync:x:4:100:sync:/bin:/bin/sync
		mail:x:8:8:mail:/var/spool/mail:/bin/false
		www-data:x:33:33:www-data:/var/www:/bin/false
		operator:x:37:37:Operator:/var:/bin/false
		nobody:x:65534:65534:nobody:/home:/bin/false
	EOF
	cat >"$r/etc/group" <<-'EOF'
		root:x:0:
		daemon:x:1:
		bin:x:2:
		sys:x:3:
		adm:x:4:
		tty:x:5:
		disk:x:6:
		lp:x:7:
		mail:x:8:
		kmem:x:9:
		wheel:x:10:root
		cdrom:x:11:
		dialout:x:18:
		floppy:x:19:
		video:x:28:
		audio:x:29:
		tape:x:32:
		www-data:x:33:
		operator:x:37:
		utmp:x:43:
		plugdev:x:46:
		staff:x:50:
		lock:x:54:
		netdev:x:82:
		users:x:100:
		nogroup:x:65534:
	EOF
	printf 'root:*:10933:0:99999:7:::\nnobody:*:10933:0:99999:7:::\n' >"$r/etc/shadow"
	chmod 640 "$r/etc/shadow"
	tar --numeric-owner -C "$r" -cJf "$BUSYBOX_TAR.tmp" .
	mv "$BUSYBOX_TAR.tmp" "$BUSYBOX_TAR"
}

# Only hooks.bats uses the debian image (it needs /bin/sh, ldconfig, /lib).
build_debian_image() {
	[[ -s "$DEBIAN_TAR" ]] && return 0
	local r="$IMAGES/debian-rootfs"
	log "building debian image $DEBIAN_TAR (debootstrap minbase bookworm)"
	rm -rf "$r"
	mkdir -p "$IMAGES"
	if debootstrap --variant=minbase bookworm "$r" "$DEBIAN_MIRROR" >"$IMAGES/debootstrap.log" 2>&1; then
		rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/*
	else
		log "WARNING: debootstrap failed (see $IMAGES/debootstrap.log); using a minimal busybox+ldconfig rootfs"
		local m
		awk -v r="$r" 'index($5, r) == 1 {print $5}' /proc/self/mountinfo | sort -r |
			while read -r m; do umount -l "$m" || true; done
		rm -rf "$r"
		mkdir -p "$r"/{bin,sbin,etc,lib,usr/lib,tmp,root,dev,proc,sys}
		chmod 1777 "$r/tmp"
		install_busybox "$r"
		cp /sbin/ldconfig "$r/sbin/ldconfig" # static-pie on Debian
		printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
		printf 'root:x:0:\n' >"$r/etc/group"
	fi
	tar --numeric-owner -C "$r" -cf - . | xz -T0 -1 >"$DEBIAN_TAR.tmp"
	mv "$DEBIAN_TAR.tmp" "$DEBIAN_TAR"
}
mkdir -p "$IMAGES"
build_busybox_image
build_debian_image

# ---------------------------------------------------------------- cleanup
# Kill (by pid) processes left behind by one bats file: anything whose
# command line or cwd refers to that file's private TMPDIR. Then unmount
# anything still mounted below it.
# Test cgroups (helpers.bash set_cgroups_path) that a killed test may have
# left frozen or behind: thaw them so SIGKILL can land, later remove them.
TEST_CGROUP_GLOB='runc-cgroups-integration-test*'
thaw_test_cgroups() {
	local d
	while IFS= read -r d; do
		if [[ -w "$d/freezer.state" ]]; then echo THAWED >"$d/freezer.state" 2>/dev/null || true; fi
		if [[ -w "$d/cgroup.freeze" ]]; then echo 0 >"$d/cgroup.freeze" 2>/dev/null || true; fi
	done < <(find /sys/fs/cgroup -maxdepth 4 -type d -path "*/$TEST_CGROUP_GLOB" 2>/dev/null)
}
remove_test_cgroups() {
	find /sys/fs/cgroup -maxdepth 4 -depth -type d -path "*/$TEST_CGROUP_GLOB" \
		-exec rmdir {} \; 2>/dev/null || true
}

cleanup_tmp() {
	local tmp="$1" pid cmd cwd fds killed=0
	thaw_test_cgroups
	for pid in /proc/[0-9]*; do
		pid=${pid#/proc/}
		[[ "$pid" == "$$" || "$pid" == "$BASHPID" ]] && continue
		cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" || true)
		cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
		fds=$(ls -l "/proc/$pid/fd" 2>/dev/null || true)
		if [[ "$cmd" == *"$tmp"* || "$cwd" == "$tmp"* || "$fds" == *"$tmp"* ]]; then
			log "killing leftover pid $pid: ${cmd:0:120}"
			kill -9 "$pid" 2>/dev/null || true
			killed=$((killed + 1))
		fi
	done
	if [[ $killed -gt 0 ]]; then
		thaw_test_cgroups
		sleep 2
	fi
	remove_test_cgroups
	awk -v t="$tmp" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo | sort -r |
		while read -r m; do
			log "unmounting leftover $m"
			umount -l "$m" 2>/dev/null || true
		done
	rm -rf "$tmp" 2>/dev/null || true
	return 0
}

# ---------------------------------------------------------------- run
mkdir -p "$RESULTS_DIR"
SUMMARY="$RESULTS_DIR/summary.txt"
if [[ ${#SELECTED_FILES[@]} -eq 0 ]]; then
	mapfile -t SELECTED_FILES < <(cd "$TESTS" && ls -1 -- *.bats)
	rm -f "$RESULTS_DIR"/*.tap "$RESULTS_DIR"/*.err
else
	SUMMARY="$RESULTS_DIR/summary-partial.txt" # keep a full run's summary
fi

log "runtime: $RUNTIME_BIN"
log "tests:   $TESTS"
log "results: $RESULTS_DIR"
{
	echo "# runtime: $RUNTIME_BIN"
	echo "# version: $("$RUNTIME_BIN" --version 2>&1 | head -1 || true)"
	echo "# date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "# kernel:  $(uname -r)"
} >"$RESULTS_DIR/info.txt"

printf '%-28s %5s %5s %5s %6s  %s\n' file pass fail skip notrun status >"$SUMMARY"
TP=0 TF=0 TS=0 TN=0 HANGS=()
for f in "${SELECTED_FILES[@]}"; do
	f=$(basename "$f")
	name=${f%.bats}
	[[ -f "$TESTS/$f" ]] || die "no such test file: $TESTS/$f"
	tmp=$(mktemp -d /tmp/rb.XXXXXX) # short: unix socket paths live below it
	chmod 755 "$tmp"
	log "running $f (timeout ${FILE_TIMEOUT}s)"
	start=$(date +%s)
	rc=0
	# Like runc's CI, run bats under script(1): the default spec has
	# "terminal": true, so tests need a controlling terminal.
	inner=$(printf 'bats --tap %q >%q 2>%q' "$f" "$RESULTS_DIR/$name.tap" "$RESULTS_DIR/$name.err")
	(cd "$TESTS" && if [[ -n "$TEST_TIMEOUT" ]]; then export BATS_TEST_TIMEOUT="$TEST_TIMEOUT"; fi &&
		TMPDIR="$tmp" RUNC="$RUNTIME_BIN" timeout --kill-after=15 "$FILE_TIMEOUT" script -q -e -c "$inner" /dev/null) \
		>/dev/null 2>&1 </dev/null || rc=$?
	secs=$(($(date +%s) - start))
	cleanup_tmp "$tmp"

	tap="$RESULTS_DIR/$name.tap"
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$tap" | head -1)
	plan=${plan:-0}
	s=$(grep -cE '^ok [0-9]+ .*# skip' "$tap" || true)
	o=$(grep -cE '^ok [0-9]+' "$tap" || true)
	x=$(grep -cE '^not ok [0-9]+' "$tap" || true)
	t=$(grep -cE '^not ok [0-9]+ .*# timeout after' "$tap" || true)
	p=$((o - s))
	n=$((plan - o - x))
	((n < 0)) && n=0
	case $rc in
	0 | 1) status="done" ;;
	124 | 137) status="TIMEOUT" HANGS+=("$f") ;;
	*) status="rc=$rc" ;;
	esac
	status="$status ${secs}s"
	if ((t > 0)); then status="$status, $t test(s) timed out"; fi
	printf '%-28s %5d %5d %5d %6d  %s\n' "$name" "$p" "$x" "$s" "$n" "$status" >>"$SUMMARY"
	TP=$((TP + p)) TF=$((TF + x)) TS=$((TS + s)) TN=$((TN + n))
done
printf '%-28s %5d %5d %5d %6d\n' TOTAL "$TP" "$TF" "$TS" "$TN" >>"$SUMMARY"

# Post-run host checks: IPv6 must still be enabled everywhere.
for d in /proc/sys/net/ipv6/conf/*/disable_ipv6; do
	[[ -r "$d" ]] || continue
	if [[ "$(cat "$d")" != 0 ]]; then
		log "WARNING: $d is $(cat "$d") after the run"
	fi
done

cat "$SUMMARY"
if [[ ${#HANGS[@]} -gt 0 ]]; then
	echo "timed out: ${HANGS[*]}"
fi
echo "$TP passed, $TF failed, $TS skipped"
if [[ "${STRICT:-0}" == 1 ]] && ((TF > 0 || ${#HANGS[@]} > 0)); then
	exit 1
fi
exit 0
