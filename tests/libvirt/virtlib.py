"""Harness for the libvirt tests (docs/libvirt.md): a private libvirtd
driving the fork's QEMU under TCG with the nap test guest.

Each daemon is a session-mode libvirtd (qemu:///session) run as the
unprivileged user nobody with its own HOME and XDG directories under the
test's work directory: it reads no configuration of the machine's own
libvirt, writes nothing outside the work directory and needs neither
cgroups nor a security driver. Two daemons with different host UUIDs are
two "hosts" for a migration. virsh talks to one daemon through its socket
(qemu:///session?socket=...), never through autostart.

Nothing here asserts: the tests (test_*.py) decide and print TAP.
"""
import os
import shutil
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "nap"))
from naplib import (Agent, NS, REPO, Tap, TestFailure,  # noqa: E402,F401
                    fmt_ms)

QEMU = os.environ.get("QEMU",
                      os.path.join(REPO, "build/qemu/qemu-system-x86_64"))
GUEST = os.path.join(REPO, "build/nap", os.environ.get("NAP_GUEST_HOST",
                                                       "deb612"))
FORK_ROOT = os.path.join(REPO, "build/libvirt/root")
NOBODY = 65534

# Which libvirt: Debian 12's packages (unpatched) or the fork's build.
BINARIES = {
    "debian": {"libvirtd": "/usr/sbin/libvirtd", "virsh": "/usr/bin/virsh",
               "lib": None},
    "fork": {"libvirtd": os.path.join(FORK_ROOT, "sbin/libvirtd"),
             "virsh": os.path.join(FORK_ROOT, "bin/virsh"),
             "lib": os.path.join(FORK_ROOT, "lib")},
}


def as_nobody(args):
    """args run as nobody. With CAP_DAC_READ_SEARCH (ambient, so QEMU
    inherits it; qemu.conf keeps it): the daemons and QEMU run the
    checkout's binaries, and a checkout may sit below a directory only
    root may enter (a clone in mktemp -d, /root)."""
    return ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
            "--clear-groups", "--inh-caps=+dac_read_search",
            "--ambient-caps=+dac_read_search", "--"] + list(args)


def chown_tree(path):
    for root, dirs, files in os.walk(path):
        os.chown(root, NOBODY, NOBODY)
        for f in files:
            os.chown(os.path.join(root, f), NOBODY, NOBODY)


class VirshError(Exception):
    pass


class Libvirtd:
    """One private session libvirtd, run as nobody."""

    def __init__(self, name, kind, workdir, qemu_conf=None, env=None):
        """qemu_conf: qemu.conf settings over the defaults below; env:
        more environment for the daemon."""
        self.name = name
        self.kind = kind
        self.bins = BINARIES[kind]
        self.home = os.path.join(workdir, name)
        self.sock = os.path.join(self.home, "run/libvirt/libvirt-sock")
        self.uri = "qemu:///session?socket=" + self.sock
        self.log = os.path.join(self.home, "libvirtd.log")
        for d in ("config/libvirt", "run", "cache", "data"):
            os.makedirs(os.path.join(self.home, d), exist_ok=True)
        os.chmod(os.path.join(self.home, "run"), 0o700)
        with open(os.path.join(self.home, "config/libvirt/libvirtd.conf"),
                  "w") as f:
            # A host UUID of its own: libvirt refuses to migrate to a
            # daemon with its own UUID ("the same host").
            f.write('host_uuid = "%s"\n' % uuid.uuid4())
            # LV_LOG_FILTERS="1:rpc 1:remote" for debugging: those at
            # their level, the rest warnings and errors.
            filters = os.environ.get("LV_LOG_FILTERS")
            if filters:
                f.write('log_filters = "%s 3:*"\n' % filters)
            f.write('log_outputs = "%d:file:%s"\n' % (1 if filters else 3,
                                                        self.log))
        # Domain logs written by the daemon itself: no virtlogd, which
        # a session daemon would otherwise autostart. QEMU keeps the
        # capability as_nobody gives the daemon.
        conf = {"stdio_handler": '"file"', "clear_emulator_capabilities": "0"}
        if kind == "fork":
            # 11.x daemons save, shut down or power off their guests
            # when the host shuts down (test_autoshutdown turns saving
            # on); the tests destroy them first
            # and a crashed daemon must leave them running.
            conf["auto_shutdown_try_save"] = '"none"'
            conf["auto_shutdown_try_shutdown"] = '"none"'
            conf["auto_shutdown_poweroff"] = '"none"'
        conf.update(qemu_conf or {})
        with open(os.path.join(self.home, "config/libvirt/qemu.conf"),
                  "w") as f:
            f.writelines("%s = %s\n" % kv for kv in conf.items())
        chown_tree(self.home)
        self.env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": self.home,
            "XDG_CONFIG_HOME": os.path.join(self.home, "config"),
            "XDG_RUNTIME_DIR": os.path.join(self.home, "run"),
            "XDG_CACHE_HOME": os.path.join(self.home, "cache"),
            "XDG_DATA_HOME": os.path.join(self.home, "data"),
            "LIBVIRT_AUTOSTART": "0",
        }
        if self.bins["lib"]:
            self.env["LD_LIBRARY_PATH"] = self.bins["lib"]
        self.env.update(env or {})
        self.out = None
        self.start()

    def start(self):
        """Start the daemon (again: its state is in self.home)."""
        name = self.name
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        self.out = open(os.path.join(self.home, "libvirtd.stderr"), "a")
        self.proc = subprocess.Popen(as_nobody([self.bins["libvirtd"]]),
                                     env=self.env, cwd=self.home,
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.out, stderr=self.out)
        # Ready when virsh gets an answer (the socket file exists a moment
        # before the daemon listens on it).
        deadline = time.time() + 30
        while True:
            if self.proc.poll() is not None:
                raise TestFailure("%s: libvirtd exited with %s:\n%s" % (
                    name, self.proc.returncode, self.stderr_text()))
            if os.path.exists(self.sock) and \
                    self.virsh("uri", check=False).returncode == 0:
                break
            if time.time() > deadline:
                self.proc.kill()
                self.proc.wait()
                raise TestFailure("%s: libvirtd did not answer in 30 s"
                                  % name)
            time.sleep(0.2)

    def stderr_text(self):
        with open(os.path.join(self.home, "libvirtd.stderr"),
                  errors="replace") as f:
            return f.read()

    def version(self):
        out = subprocess.run([self.bins["libvirtd"], "--version"],
                             env=self.env, capture_output=True, text=True)
        return out.stdout.strip()

    def virsh(self, *args, check=True, timeout=300):
        """virsh's stdout; VirshError (with its stderr) when it fails."""
        cmd = as_nobody([self.bins["virsh"], "-q", "-c", self.uri] +
                        list(args))
        r = subprocess.run(cmd, env=self.env, capture_output=True,
                           text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise VirshError("virsh %s: %s" % (" ".join(args),
                                                r.stderr.strip()))
        return r.stdout.strip() if check else r

    def state(self, dom):
        return self.virsh("domstate", "--reason", dom)

    def crash(self):
        """SIGKILL the daemon, as a crash would; its domains run on."""
        self.proc.kill()
        self.proc.wait()
        self.out.close()

    def stop(self):
        if self.out.closed:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()


def domain_xml(name, home, nap=None, qemu=QEMU, disk=None, extra="",
               append="", chardir=None):
    """The nap test guest as a libvirt domain: direct kernel boot, TCG,
    console on ttyS0 into a file, napagent on ttyS1 (a unix socket), its
    minimal guest agent on libvirt's agent channel (NAME.qga), all in
    chardir (default: home, the work directory).
    nap: None (no device), "cmdline" (-device nap through
    <qemu:commandline>, for an unpatched libvirt), or the fork's
    <pm><nap .../></pm> element as a string."""
    pm = "<suspend-to-mem enabled='yes'/>"
    if nap not in (None, "cmdline"):
        pm += nap
    cmdline = ""
    if nap == "cmdline":
        cmdline = ("<qemu:commandline><qemu:arg value='-device'/>"
                   "<qemu:arg value='nap,id=nap0'/></qemu:commandline>")
    disk_xml = ""
    if disk:
        disk_xml = ("<disk type='file' device='disk'><driver name='qemu' "
                    "type='qcow2'/><source file='%s'/><target dev='vda' "
                    "bus='virtio'/></disk>" % disk)
    return """<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>{name}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{guest}/vmlinuz</kernel>
    <initrd>{guest}/initramfs.cpio.gz</initrd>
    <cmdline>console=ttyS0 quiet iomem=relaxed {append}</cmdline>
  </os>
  <features><acpi/></features>
  <pm>{pm}</pm>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>{qemu}</emulator>
    {disk}
    <serial type='file'><source path='{chardir}/{name}.console'/><target port='0'/></serial>
    <serial type='unix'><source mode='bind' path='{chardir}/{name}.agent'/><target port='1'/></serial>
    <channel type='unix'><source mode='bind' path='{chardir}/{name}.qga'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
    {extra}
  </devices>
  {cmdline}
</domain>
""".format(name=name, guest=home + "/guest", pm=pm, qemu=qemu,
           disk=disk_xml, cmdline=cmdline, extra=extra,
           append=append, chardir=chardir or home)


class Workdir:
    """Work directory readable by nobody; kept on failure or LV_KEEP=1."""

    def __init__(self, tag):
        import tempfile
        self.path = tempfile.mkdtemp(prefix="libvirt-%s." % tag,
                                     dir=os.environ.get("LV_WORKDIR_BASE"))
        os.chmod(self.path, 0o755)
        # QEMU (as nobody) creates its console files and sockets here.
        os.chown(self.path, NOBODY, NOBODY)
        # The guest's kernel and initramfs, where nobody can read them.
        g = os.path.join(self.path, "guest")
        os.makedirs(g)
        for f in ("vmlinuz", "initramfs.cpio.gz"):
            shutil.copy(os.path.join(GUEST, f), g)
        chown_tree(g)
        self.daemons = []

    def daemon(self, name, kind, **kw):
        d = Libvirtd(name, kind, self.path, **kw)
        self.daemons.append(d)
        return d

    def kill_leftovers(self):
        """SIGKILL every QEMU still running from this work directory (a
        daemon that died or hung cannot destroy its domains)."""
        import glob
        import signal
        for pidfile in glob.glob(os.path.join(self.path,
                                              "*/run/libvirt/qemu/run/*.pid")):
            try:
                with open(pidfile) as f:
                    pid = int(f.read().strip())
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    cmdline = f.read()
            except (OSError, ValueError):
                continue
            if self.path.encode() in cmdline:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def file(self, name):
        """A path nobody may create (in the work directory)."""
        return os.path.join(self.path, name)

    def subdir(self, name):
        """A directory of the work directory that nobody owns."""
        path = os.path.join(self.path, name)
        os.makedirs(path, exist_ok=True)
        os.chown(path, NOBODY, NOBODY)
        return path

    def close(self, failed):
        for d in self.daemons:
            try:
                for dom in d.virsh("list", "--name").split():
                    d.virsh("destroy", dom, check=False)
            except Exception:
                pass
            d.stop()
        self.kill_leftovers()
        if failed and not os.environ.get("LV_KEEP"):
            # Kept for the logs; the save images are hundreds of MB.
            for f in os.listdir(self.path):
                if f.endswith(".img"):
                    os.unlink(os.path.join(self.path, f))
        if failed or os.environ.get("LV_KEEP"):
            print("# kept " + self.path, flush=True)
        else:
            shutil.rmtree(self.path, ignore_errors=True)


class LibvirtGuests:
    """The fork's libvirt-guests.sh (the host shutdown and boot path,
    built by make libvirt), installed into the work directory as a
    distribution installs it: its configuration (URIS, ON_SHUTDOWN=suspend,
    ON_BOOT=start) and state files there instead of /etc and /var, run as
    nobody with the fork's virsh. Its managed saves go through libvirt's
    API like any other, on whichever daemons URIS names."""

    def __init__(self, w, daemons):
        root = w.subdir("libvirt-guests")
        for d in ("etc/default", "var/lib/libvirt", "var/lock"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        with open(os.path.join(FORK_ROOT, "libexec/libvirt-guests.sh")) as f:
            text = f.read()
        # Each of these lines exactly once: where it is installed, and
        # Debian's redirect to systemctl (which a masked
        # libvirt-guests.service would turn into "exit 0") left out.
        edits = {"sysconfdir=": 'sysconfdir="%s/etc"' % root,
                 "initconfdir=": 'initconfdir="%s/etc/default"' % root,
                 "localstatedir=": 'localstatedir="%s/var"' % root,
                 ". /lib/lsb/init-functions": ": no lsb init-functions",
                 ". \"": ". /usr/bin/gettext.sh"}
        done = {k: 0 for k in edits}
        lines = []
        for line in text.splitlines():
            for start, repl in edits.items():
                if line.startswith(start) and \
                        (start != ". \"" or line.endswith("/gettext.sh")):
                    line = repl
                    done[start] += 1
            lines.append(line)
        if set(done.values()) != {1}:
            raise TestFailure("libvirt-guests.sh is not as expected: %s"
                              % done)
        self.script = os.path.join(root, "libvirt-guests.sh")
        with open(self.script, "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(root, "etc/default/libvirt-guests"), "w") as f:
            f.write('URIS="%s"\nON_BOOT=start\nON_SHUTDOWN=suspend\n'
                    'SYNC_TIME=0\n' % " ".join(d.uri for d in daemons))
        chown_tree(root)
        self.env = dict(daemons[0].env)
        self.env["PATH"] = os.path.join(FORK_ROOT, "bin") + ":" + \
            self.env["PATH"]
        self.env["LD_LIBRARY_PATH"] = BINARIES["fork"]["lib"]

    def run(self, action, timeout=600):
        """libvirt-guests.sh ACTION (stop: the host shuts down; start: it
        booted); its CompletedProcess, output in stdout."""
        return subprocess.run(as_nobody(["/bin/sh", self.script, action]),
                              env=self.env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True,
                              timeout=timeout)


def agent(home, name):
    return Agent(os.path.join(home, name + ".agent"))


def run(main):
    """Run a test's main(tap, workdir), turning errors into a failure."""
    import traceback
    tap = Tap()
    start = time.time()
    w = Workdir(os.path.basename(sys.argv[0]).replace(".py", ""))
    try:
        main(tap, w)
    except Exception as e:
        tap.check(False, "test ran to the end: %s" % e,
                  traceback.format_exc())
        for d in w.daemons:
            try:
                with open(d.log, errors="replace") as f:
                    tail = f.read()[-3000:]
                tap.note("%s libvirtd log tail:\n%s" % (d.name, tail))
            except OSError:
                pass
    finally:
        w.close(tap.failed)
    tap.note("ran in %.0f s" % (time.time() - start))
    sys.exit(1 if tap.failed else 0)


def qcow2(w, name, size="64M"):
    """A small qcow2 disk nobody may write (internal snapshots need one)."""
    path = w.file(name + ".qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", path, size],
                   check=True)
    os.chown(path, NOBODY, NOBODY)
    return path


def write_xml(w, name, xml):
    path = w.file(name + ".xml")
    with open(path, "w") as f:
        f.write(xml)
    os.chown(path, NOBODY, NOBODY)
    return path


def define_and_start(d, w, name, **kw):
    """Define and start the nap test guest on daemon d; its Agent, once
    the guest answers."""
    d.virsh("define", write_xml(w, name, domain_xml(name, w.path, **kw)))
    d.virsh("start", name)
    a = agent(w.path, name)
    a.wait_up(120)
    return a


def query_nap(d, dom):
    """x-query-nap of the domain's QEMU, through libvirt (taints it)."""
    import json
    return json.loads(d.virsh("qemu-monitor-command", dom,
                              '{"execute":"x-query-nap"}'))["return"]


def wait_nap_state(d, dom, want, timeout=30):
    """Poll x-query-nap until its state is want; the last answer."""
    deadline = time.time() + timeout
    while True:
        q = query_nap(d, dom)
        if q["state"] == want or time.time() > deadline:
            return q
        time.sleep(0.2)


def boot_id(a):
    """The guest kernel's boot id: unchanged means it did not reboot."""
    rc, out = a.sh("cat /proc/sys/kernel/random/boot_id")
    return out[0] if rc == 0 and out else None


def wait_state(d, dom, want, timeout=60):
    """Poll virsh domstate until it starts with want; the last state."""
    deadline = time.time() + timeout
    while True:
        st = d.state(dom)
        if st.startswith(want) or time.time() > deadline:
            return st
        time.sleep(0.2)


def log_since(d, dom, before):
    """What the domain log gained since its text was before. A session
    daemon truncates the log when it starts QEMU (restore, start, revert):
    then all of it is new."""
    now = domain_log(d, dom)
    return now[len(before):] if now.startswith(before) else now


def domain_log(d, dom):
    """The domain's log as a session daemon writes it."""
    path = os.path.join(d.home, "cache/libvirt/qemu/log", dom + ".log")
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""
