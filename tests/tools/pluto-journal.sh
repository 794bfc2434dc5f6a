#!/bin/bash
# Record real pluto journal output. A private mount namespace gets its own journald, /dev/log and
# journal files; a pluto in a private network namespace logs to syslog (no logfile=) and initiates
# to a peer that does not answer (so it retransmits IKE_SA_INIT). Nothing outside the namespaces
# changes. Writes pluto.json, pluto.export, pluto.short, pluto.short-iso, whack.txt and
# whack-unknown.txt (initiating a connection that does not exist) into OUTDIR.
# usage: tests/tools/pluto-journal.sh OUTDIR [SECONDS]
set -euo pipefail
out=$(realpath "$1"); secs=${2:-4}
mkdir -p "$out"
if [[ -z ${SWANDOC_JOURNAL_WORK:-} ]]; then
  work=$(mktemp -d /tmp/sdjournal.XXXXXX)
  rc=0
  SWANDOC_JOURNAL_WORK=$work unshare --mount --propagation private "$0" "$@" || rc=$?
  # Only now, with the private namespace and all its bind mounts gone, is the directory plain files.
  # --one-file-system is a second guard: never follow a mount out of it.
  rm -rf --one-file-system "$work"
  exit $rc
fi
work=$SWANDOC_JOURNAL_WORK
ns=sdjrnl-$$
cleanup() {
  ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
  sleep 0.3
  ip netns del "$ns" 2>/dev/null || true
  ip link del sdjv-$$ 2>/dev/null || true
  kill "${jpid:-0}" 2>/dev/null || true
}
trap cleanup EXIT
# A private /dev with the nodes programs need, plus our own /dev/log. These bind mounts exist only in
# this mount namespace and vanish with it.
mkdir -p "$work/olddev" && mount --bind /dev "$work/olddev"
mount -t tmpfs -o mode=755 tmpfs /dev
for n in null zero random urandom full tty; do touch /dev/$n; mount --bind "$work/olddev/$n" /dev/$n; done
mkdir -p /dev/pts /dev/shm && mount --bind "$work/olddev/pts" /dev/pts
mkdir -p /run/systemd && mount -t tmpfs tmpfs /run/systemd && mkdir -p /run/systemd/journal
mkdir -p /run/log && mount -t tmpfs tmpfs /run/log
/lib/systemd/systemd-journald & jpid=$!
for _ in $(seq 50); do [[ -S /run/systemd/journal/dev-log ]] && break; sleep 0.1; done
ln -sf /run/systemd/journal/dev-log /dev/log

ip netns add "$ns"
ip -n "$ns" link set lo up
# The peer end of the veth stays in the host namespace, down and without addresses: nothing answers.
ip link add sdjv-$$ type veth peer name eth0 netns "$ns"
ip -n "$ns" addr add 192.0.2.1/24 dev eth0 && ip -n "$ns" link set eth0 up
mkdir -p "$work/nss" "$work/run"
certutil -N -d "sql:$work/nss" --empty-password
cat > "$work/ipsec.conf" <<CONF
config setup
    ikev1-policy=accept
conn journal-demo
    left=192.0.2.1
    leftid=@west
    right=192.0.2.2
    rightid=@east
    authby=secret
    ikev2=insist
    retransmit-interval=250
    retransmit-timeout=3s
    keyingtries=1
    auto=add
CONF
echo '@west @east : PSK "journal-demo-not-a-secret"' > "$work/ipsec.secrets"
ip netns exec "$ns" /usr/libexec/ipsec/pluto --config "$work/ipsec.conf" --secretsfile "$work/ipsec.secrets" \
  --nssdir "$work/nss" --rundir "$work/run" --nofork 2>/dev/null &
for _ in $(seq 50); do [[ -S $work/run/pluto.ctl ]] && break; sleep 0.1; done
ip netns exec "$ns" ipsec addconn --ctlsocket "$work/run/pluto.ctl" --config "$work/ipsec.conf" journal-demo >/dev/null
ip netns exec "$ns" timeout "$secs" ipsec whack --ctlsocket "$work/run/pluto.ctl" --name journal-demo --initiate \
  > "$out/whack.txt" 2>&1 || true
ip netns exec "$ns" ipsec whack --ctlsocket "$work/run/pluto.ctl" --name no-such-conn --initiate \
  > "$out/whack-unknown.txt" 2>&1 || true
ip netns exec "$ns" ipsec whack --ctlsocket "$work/run/pluto.ctl" --shutdown >/dev/null 2>&1 || true
sleep 0.5
jc() { journalctl --no-pager --directory=/run/log/journal -t pluto "$@"; }
jc -o json > "$out/pluto.json"
jc -o export > "$out/pluto.export"
jc -o short > "$out/pluto.short"
jc -o short-iso > "$out/pluto.short-iso"
