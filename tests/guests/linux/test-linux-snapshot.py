#!/usr/bin/python3
"""The stock Linux guest across snapshot reverts (vmrun snapshot /
revertToSnapshot).

usage: test-linux-snapshot.py [--monitor software|hardware] [--reverts N] [--timeout S]

The guest boots, then:
- a shell variable is set, 8 MiB of random data written to a file and their
  MD5 noted, a marker file written, and a background loop counts in
  /tmp/count; snapshot A is taken (the VM keeps running);
- the variable, the marker and the data are changed, the loop counts on;
  snapshot B is taken;
then N times: revert to A (the vmx tears the machine down and runs A's
state: the serial socket closes and is connected again) and check that the
shell has A's variable, marker and data, and that the loop counts on from
where it was at A; then revert to B and check B's state. The tree is
listed, B is deleted, and the guest powers off.
Exit 0 on success, 1 on failure, 77 when something this needs is missing.
"""
import argparse
import os
import select
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmws_linux import GuestError, Image, LinuxGuest, Skip  # noqa: E402


def vmrun(g, *args, timeout=600):
    p = subprocess.run([g.vmrun] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    out = p.stdout.decode(errors="replace")
    if p.returncode != 0:
        raise GuestError("vmrun %s failed: %s\n%s" % (" ".join(args), out, g.vm_log[-3000:]))
    return out


def snapshot(g, name):
    t0 = time.monotonic()
    vmrun(g, "snapshot", g.vmx, name)
    return time.monotonic() - t0


def revert(g, name):
    """revertToSnapshot: the machine is replaced, so the serial socket of
    the old one closes; connect to the new one's."""
    t0 = time.monotonic()
    vmrun(g, "revertToSnapshot", g.vmx, name)
    took = time.monotonic() - t0
    while True:
        try:
            r, _, _ = select.select([g._fd()], [], [], 2.0)
            chunk = os.read(g._fd(), 65536) if r else b""
        except OSError:
            chunk = b""
        if not chunk:
            break
        g.serial += chunk
    g._sock.close()
    g._sock = None
    st = g.state()
    if st != "poweredOn":
        raise GuestError("after reverting to %s the VM is %s" % (name, st))
    g._sock = g._connect(os.path.join(g.dir, "com1.sock"))
    return took


def counter(g):
    return int(g.check("cat /tmp/count").strip() or "0")


def expect(g, var, marker, count_at_snapshot, slack_s, t_revert):
    """The guest is as it was at the snapshot: the loop counted on from
    count_at_snapshot (read just before the snapshot was taken) for no
    longer than the revert has taken (plus slack_s, the time the snapshot
    took), and counts on; the shell and the files are the snapshot's."""
    c1 = counter(g)
    elapsed = time.monotonic() - t_revert + slack_s
    # The loop adds 1 every 0.2 s of guest time, which runs no faster than
    # ours.
    if not count_at_snapshot <= c1 <= count_at_snapshot + 5 * elapsed + 3:
        raise GuestError("the loop is at %d after the revert; it was at %d when the snapshot "
                         "was taken, %.1f s of running ago at most"
                         % (c1, count_at_snapshot, elapsed))
    got = g.check("echo $SNAP_VAR").strip()
    if got != var:
        raise GuestError("the shell variable is %r, expected %r" % (got, var))
    got = g.check("cat /tmp/marker").strip()
    if got != marker:
        raise GuestError("/tmp/marker is %r, expected %r" % (got, marker))
    g.check("md5sum -c /tmp/blob.md5 >/dev/null")
    time.sleep(1.5)
    c2 = counter(g)
    if c2 <= c1:
        raise GuestError("the loop does not count after the revert (%d, then %d)" % (c1, c2))
    return c1, c2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--monitor", default="software")
    ap.add_argument("--reverts", type=int, default=3)
    ap.add_argument("--timeout", type=int, default=400)
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    a = ap.parse_args()
    if a.monitor == "hardware":
        try:
            os.close(os.open("/dev/kvm", os.O_RDWR))
        except OSError as e:
            print("SKIP: /dev/kvm is not usable (%s)" % e)
            return 77
    work = tempfile.mkdtemp(prefix="vmws-linux-snap-")
    try:
        img = Image.build(os.path.join(work, "img"))
        with LinuxGuest(img, monitor=a.monitor, workdir=work, boot_timeout=a.timeout) as g:
            print("booted to the shell in %.1f s" % g.boot())
            g.check("export SNAP_VAR=at-A")
            g.check("echo A > /tmp/marker")
            g.check("dd if=/dev/urandom of=/tmp/blob bs=1M count=8 2>/dev/null && "
                    "md5sum /tmp/blob > /tmp/blob.md5")
            # In a session of its own: the serial line's carrier drops when
            # the machine is replaced, and the hangup would end anything in
            # the serial shell's session.
            # The count is renamed into place: "echo > /tmp/count" truncates
            # first, and a reader between the truncation and the write saw
            # an empty file (0.5% of reads on a fast guest).
            g.check("(setsid sh -c 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count.new; "
                    "mv /tmp/count.new /tmp/count; "
                    "sleep 0.2; done' >/dev/null 2>&1 &)")
            time.sleep(1)
            count_a = counter(g)
            took_a = snapshot(g, "A")
            print("snapshot A at count %d in %.2f s" % (count_a, took_a))

            g.check("export SNAP_VAR=at-B")
            g.check("echo B > /tmp/marker")
            g.check("dd if=/dev/urandom of=/tmp/blob bs=1M count=8 2>/dev/null && "
                    "md5sum /tmp/blob > /tmp/blob.md5")
            time.sleep(2)
            count_b = counter(g)
            took_b = snapshot(g, "B")
            print("snapshot B at count %d in %.2f s" % (count_b, took_b))
            tree = vmrun(g, "listSnapshots", g.vmx, "showTree")
            if tree != "Total snapshots: 2\nA\n\tB\n":
                raise GuestError("listSnapshots showTree: %r" % tree)

            g.check("export SNAP_VAR=after-B")
            g.check("echo C > /tmp/marker")
            time.sleep(2)
            for i in range(1, a.reverts + 1):
                before = counter(g)
                t0 = time.monotonic()
                took = revert(g, "A")
                c1, _ = expect(g, "at-A", "A", count_a, took_a + 1, t0)
                if c1 >= before:
                    raise GuestError("the loop did not go back: %d before the revert, %d after"
                                     % (before, c1))
                print("revert %d to A in %.2f s: count %d -> %d, shell, marker and data of A"
                      % (i, took, before, c1))
                # Change things again, so the next revert has to undo them.
                g.check("export SNAP_VAR=changed-%d; echo X > /tmp/marker; rm /tmp/blob" % i)
                time.sleep(1)
            before = counter(g)
            t0 = time.monotonic()
            took = revert(g, "A/B")
            c1, _ = expect(g, "at-B", "B", count_b, took_b + 1, t0)
            print("revert to A/B in %.2f s: count %d -> %d, shell, marker and data of B"
                  % (took, before, c1))
            vmrun(g, "deleteSnapshot", g.vmx, "B")
            tree = vmrun(g, "listSnapshots", g.vmx, "showTree")
            if tree != "Total snapshots: 1\nA\n":
                raise GuestError("listSnapshots after deleting B: %r" % tree)
            # The guest runs from B's memory, whose file is gone: still fine.
            g.check("md5sum -c /tmp/blob.md5 >/dev/null")
            g.check_kernel_log()
            g.poweroff()
        print("PASS")
        return 0
    except Skip as e:
        print("SKIP: %s" % e)
        return 77
    except GuestError as e:
        print("FAIL: %s" % e)
        return 1
    finally:
        if not a.keep:
            subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    sys.exit(main())
