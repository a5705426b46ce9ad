#!/bin/bash
# Filesystem workloads under `runsc do`: archives, copies, a git repository
# and a sqlite database give what they give natively, and the overlay root
# takes writes, renames and removals all over / without the host's files
# changing by a byte.
set -u
RUNSC=$(realpath "$1")
source "$(dirname "$0")/lib.sh"

# The same checksum listing after a tar round trip of /usr/share/doc.
same "tar czf and extract: identical checksums" sh -c '
  d=$(mktemp -d) && tar czf $d/d.tgz -C /usr/share/doc . &&
  mkdir $d/x && tar xzf $d/d.tgz -C $d/x &&
  cd $d/x && find . -type f -print0 | sort -z | xargs -0 md5sum | md5sum;
  rc=$?; rm -rf $d; exit $rc'

same "cp -a of /usr/include, then diff -r" sh -c '
  d=$(mktemp -d) && cp -a /usr/include $d/x && diff -r /usr/include $d/x \
    2>&1 | sed "s|$d|D|g" | sort; rm -rf $d'

same "find /usr/share -xdev | wc -l" sh -c 'find /usr/share -xdev | wc -l'

same "git init, add, commit, log" sh -c '
  d=$(mktemp -d) && cd $d && git init -q r && cd r &&
  for i in 1 2 3; do echo "line $i" > f$i; done && git add . &&
  GIT_AUTHOR_DATE=@0 GIT_COMMITTER_DATE=@0 git -c user.name=n \
    -c user.email=e@x commit -qm first && git mv f1 g1 && git rm -q f2 &&
  GIT_AUTHOR_DATE=@0 GIT_COMMITTER_DATE=@0 git -c user.name=n \
    -c user.email=e@x commit -qm second && git log --format="%H %s" &&
  git status --porcelain; rc=$?; cd /; rm -rf $d; exit $rc'

same "sqlite3: 100k rows inserted and queried" sh -c '
  d=$(mktemp -d) && sqlite3 $d/db "
    create table t(a integer primary key, b text);
    with recursive c(x) as (select 1 union all select x+1 from c where x<100000)
      insert into t select x, printf(\"row%d\", x) from c;
    create index tb on t(b);
    select count(*), sum(a), max(b) from t where a % 7 = 3;
    select b from t where b like \"row9999%\" order by a;"; rc=$?
  rm -rf $d; exit $rc'

# --- the overlay root ---
# A fingerprint of everything the sandbox below touches: names, modes,
# sizes, times and the bytes of every regular file.
fingerprint() {
  find /etc /usr/share/doc/adduser /usr/bin/true /usr/bin/env /opt /srv \
    -xdev -printf '%p %y %m %s %T@ %l\n' 2>/dev/null | sort | md5sum
  find /etc /usr/share/doc/adduser /usr/bin/true /usr/bin/env -xdev \
    -type f -readable -print0 2>/dev/null | sort -z | xargs -0 md5sum | md5sum
}
before=$(fingerprint)
out=$("$RUNSC" do -- sh -c '
  set -e
  echo sandbox >> /etc/hostname
  echo new > /etc/sandbox-new && cat /etc/sandbox-new
  mv /etc/hostname /etc/hostname.moved
  rm -rf /usr/share/doc/adduser
  mkdir -p /usr/share/doc/adduser/fresh && touch /usr/share/doc/adduser/fresh/f
  ls /usr/share/doc/adduser
  chmod 700 /usr/bin/true && chown 12:34 /usr/bin/env
  stat -c "%a %u:%g" /usr/bin/true /usr/bin/env
  ln /etc/sandbox-new /etc/sandbox-link && stat -c %h /etc/sandbox-new
  touch -d @0 /etc/passwd && stat -c %Y /etc/passwd
  mkdir -p /opt/sandbox && echo x > /opt/sandbox/y
  echo overwritten > /usr/bin/env
  head -c 12 /usr/bin/env
  cat /etc/hostname 2>/dev/null || echo "hostname gone"
  tail -n 1 /etc/hostname.moved
' 2>&1)
want='new
fresh
700 0:0
755 12:34
2
0
overwritten
hostname gone
sandbox'
if [ "$out" == "$want" ]; then
  ok "the overlay root takes writes, renames and removals"
else
  bad "the overlay root takes writes, renames and removals"
  diff <(echo "$want") <(echo "$out") | head -20
fi
after=$(fingerprint)
if [ "$before" == "$after" ]; then
  ok "the host's files are unchanged after the sandbox wrote all over /"
else
  bad "the host's files changed"
fi

# A removed lower directory re-made is empty (opaque), and rmdir of a
# non-empty merged directory fails as on Linux.
out=$("$RUNSC" do -- sh -c '
  rmdir /usr/share/doc 2>&1 | sed "s/.*: //"
  rm -rf /usr/share/man && mkdir /usr/share/man && ls -A /usr/share/man | wc -l
  mv /usr/share/doc /usr/share/doc2 2>&1 | grep -c "cross-device\|Invalid cross" || true
  ls -d /usr/share/doc2 /usr/share/doc 2>&1 | sort' 2>&1)
want="Directory not empty
0
0
/usr/share/doc2
ls: cannot access '/usr/share/doc': No such file or directory"
if [ "$out" == "$want" ]; then
  ok "whiteouts, opaque directories, and mv of a lower directory (copied)"
else
  bad "whiteouts, opaque directories, and mv of a lower directory"
  diff <(echo "$want") <(echo "$out") | head -20
fi

err=$("$RUNSC" do --overlay=false -- sh -c 'echo x > /etc/nope' 2>&1)
if [ $? == 2 ] && [[ "$err" =~ "Read-only file system" ]]; then
  ok "--overlay=false keeps the root read-only"
else
  bad "--overlay=false keeps the root read-only (${err:0:200})"
fi
summary
