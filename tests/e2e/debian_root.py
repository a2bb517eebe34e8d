"""Debian 12 roots for tests/e2e/test_packaging.py: a `debootstrap --variant=minbase
bookworm` root made once and cached as a tarball in the build dir, fresh copies of it entered
with chroot (their own /proc, /sys and /dev mounts, everything unmounted and deleted on close,
stale ones of killed runs cleared), servers started in them (as PID 1 of a PID namespace when
asked, as in a container), snapshots of a root's files, and the Dockerfile's stages parsed and
its runtime stage applied to a root as Docker would build it."""

import glob
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile
import unittest

from ollama_e2e import HERE, ServerProcess

REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"
TMP_PREFIX = "oc-pkg-%d-" % os.getpid()  # the pid tells a later run whether we are alive
DOCKER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def build_dir():
    return os.environ.get("OLLAMA_BUILD_DIR", os.path.join(REPO, "build"))


def run(cmd, timeout=600, check=True, **kw):
    """Runs a host command (a list), output captured as text; raises with it on failure."""
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d:\n%s\n%s" % (cmd, p.returncode, p.stdout[-4000:],
                                                        p.stderr[-4000:]))
    return p


# --- mounts and temporary roots ----------------------------------------------------------

def mounts_under(path):
    """Mount points at or below `path`, deepest first."""
    path = os.path.realpath(path)
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4]
            mp = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), mp)
            if mp == path or mp.startswith(path + "/"):
                found.append(mp)
    return sorted(found, key=len, reverse=True)


def kill_processes_in(path):
    """Kills every process whose root directory is `path` (servers started in a chroot)."""
    path = os.path.realpath(path)
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            root = os.readlink("/proc/%s/root" % pid)
        except OSError:
            continue
        if root == path or root.startswith(path + "/"):
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass


def remove_tree(path):
    """Unmounts everything below `path`, then deletes it. Never deletes through a mount:
    a bind-mounted /dev left in place would be emptied on the host."""
    if not os.path.exists(path):
        return
    kill_processes_in(path)
    for mp in mounts_under(path):
        if subprocess.run(["umount", mp], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", mp], capture_output=True)
    left = mounts_under(path)
    if left:
        raise RuntimeError("not deleting %s: still mounted: %s" % (path, left))
    shutil.rmtree(path)


def clear_stale_roots():
    """Removes what an earlier run that was killed (CTest's timeout) left in the temp dir."""
    for d in glob.glob(os.path.join(tempfile.gettempdir(), "oc-pkg-*-*")):
        m = re.match(r"oc-pkg-(\d+)-", os.path.basename(d))
        if not m or int(m.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(m.group(1)), 0)
            continue  # its test run is still going
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        try:
            remove_tree(d)
        except (OSError, RuntimeError):
            pass


def base_tarball():
    """The cached minbase root as a tar, made with debootstrap on first use."""
    cache = os.path.join(build_dir(), "debian-minbase-%s.tar" % SUITE)
    if os.path.exists(cache):
        return cache
    src = os.environ.get("OLLAMA_TEST_DEBIAN_ROOT")
    tmp = None
    try:
        if not src:
            if not shutil.which("debootstrap"):
                raise unittest.SkipTest("debootstrap is not installed")
            tmp = tempfile.mkdtemp(prefix=TMP_PREFIX + "debootstrap-")
            src = os.path.join(tmp, "root")
            run(["debootstrap", "--variant=minbase", SUITE, src, MIRROR], timeout=1200)
        run(["tar", "-C", src, "--numeric-owner", "-cf", cache + ".part", "."])
        os.replace(cache + ".part", cache)
    finally:
        if tmp:
            remove_tree(tmp)
        if os.path.exists(cache + ".part"):
            os.remove(cache + ".part")
    return cache


class Chroot:
    """A fresh copy of the minbase root with /proc, /sys, /dev and /dev/pts mounted and the
    host's resolver. close() stops what runs in it, unmounts and deletes it."""

    def __init__(self, base_tar, name):
        self.dir = tempfile.mkdtemp(prefix=TMP_PREFIX + name + "-")
        try:
            self.root = os.path.join(self.dir, "root")
            os.mkdir(self.root)
            run(["tar", "-C", self.root, "--numeric-owner", "-xpf", base_tar])
            # (the root's own file may be a link to a host path: replaced, not written through)
            resolv = self.path("/etc/resolv.conf")
            if os.path.lexists(resolv):
                os.remove(resolv)
            shutil.copyfile("/etc/resolv.conf", resolv)
            self.mount("proc", "/proc", "-t", "proc")
            self.mount("sysfs", "/sys", "-t", "sysfs")
            self.mount("/dev", "/dev", "--bind")
            self.mount("/dev/pts", "/dev/pts", "--bind")
        except BaseException:
            self.close()
            raise

    def path(self, p):
        """The host path of `p` inside the root."""
        return os.path.join(self.root, p.lstrip("/"))

    def mount(self, what, where, *opts):
        target = self.path(where)
        os.makedirs(target, exist_ok=True)
        run(["mount"] + list(opts) + [what, target])

    def env(self, extra=None):
        e = {"PATH": DOCKER_PATH, "HOME": "/root", "LANG": "C.UTF-8"}
        e.update(extra or {})
        return e

    def sh(self, script, env=None, check=True, timeout=600):
        """Runs a shell script in the root, as root, with a clean environment."""
        return run(["chroot", self.root, "/bin/sh", "-c", script], env=self.env(env),
                   check=check, timeout=timeout)

    def argv(self, args, env=None, check=True, timeout=600):
        return run(["chroot", self.root] + list(args), env=self.env(env), check=check,
                   timeout=timeout)

    def start(self, args, env, userspec=None, pid1=False, log_name="server.log"):
        """Starts `args` in the root (env as given, nothing from the host); returns a
        ServerProcess-like handle once GET / answers on env's OLLAMA_HOST port. pid1: as a
        container's first process, PID 1 of its own PID namespace (see pid1())."""
        host, port = env["OLLAMA_HOST"].rsplit(":", 1)
        log_path = os.path.join(self.dir, log_name)
        cmd = ["chroot"] + (["--userspec=" + userspec] if userspec else []) + [self.root]
        if pid1:
            cmd = ["unshare", "--pid", "--fork", "--kill-child"] + cmd
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd + list(args), env=env, stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return ServerProcess(proc, host, int(port), self.dir, env, log_path).wait_ready(30)

    def pid1(self):
        """The host pid of the process in this root that is PID 1 in its namespace."""
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if os.readlink("/proc/%s/root" % pid) != os.path.realpath(self.root):
                    continue
                with open("/proc/%s/status" % pid) as f:
                    nspid = [l.split()[1:] for l in f if l.startswith("NSpid:")][0]
            except (OSError, IndexError):
                continue
            if nspid[-1] == "1":
                return int(pid)
        raise AssertionError("no PID 1 runs in " + self.root)

    def close(self):
        remove_tree(self.dir)


def passwd_entry(root, name):
    """The lines of /etc/passwd in a chroot for user `name`, split into fields."""
    with open(root.path("/etc/passwd")) as f:
        return [line.rstrip("\n").split(":") for line in f if line.split(":")[0] == name]


def group_entries(root, name):
    """The same for /etc/group."""
    with open(root.path("/etc/group")) as f:
        return [line.rstrip("\n").split(":") for line in f if line.split(":")[0] == name]


def snapshot(root):
    """Every file of the root that an install may touch, as (path, mode, uid, gid, size,
    link target, digest for files under /etc, /usr/local and /usr/share/ollama)."""
    skip = {"proc", "sys", "dev", "tmp", "run", "var/log", "var/cache", "var/lib/apt/lists"}
    out = []
    for dirpath, dirs, files in os.walk(root.root):
        rel_dir = os.path.relpath(dirpath, root.root)
        dirs[:] = [d for d in dirs if os.path.normpath(os.path.join(rel_dir, d)) not in skip]
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            st = os.lstat(p)  # links are not followed: they may point at host paths
            link = os.readlink(p) if stat.S_ISLNK(st.st_mode) else None
            digest = None
            if (stat.S_ISREG(st.st_mode) and
                    rel.startswith(("etc/", "usr/local/", "usr/share/ollama/"))):
                with open(p, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            size = st.st_size if stat.S_ISREG(st.st_mode) else 0
            out.append((rel, st.st_mode, st.st_uid, st.st_gid, size, link, digest))
    return sorted(out)


def unit_fields(text):
    """key -> [values] of a systemd unit's lines (Environment values unquoted)."""
    fields = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            k, v = line.split("=", 1)
            fields.setdefault(k.strip(), []).append(v.strip().strip('"'))
    return fields


# --- the Dockerfile -----------------------------------------------------------------------

def dockerfile_stages(path):
    """[{image, name, steps: [(INSTRUCTION, args)]}] with continuations joined and comments
    dropped, as Docker reads them."""
    steps, cur = [], ""
    with open(path) as f:
        for line in f:
            s = line.rstrip("\n")
            if s.strip().startswith("#") or (not cur and not s.strip()):
                continue
            if s.rstrip().endswith("\\"):
                cur += s.rstrip()[:-1]
                continue
            cur += s
            instr, _, rest = cur.strip().partition(" ")
            steps.append((instr.upper(), rest.strip()))
            cur = ""
    stages = []
    for instr, rest in steps:
        if instr == "FROM":
            words = rest.split()
            name = words[2] if len(words) == 3 and words[1].lower() == "as" else None
            stages.append({"image": words[0], "name": name, "steps": []})
        elif instr == "ARG" and not stages:
            continue
        else:
            stages[-1]["steps"].append((instr, rest))
    return stages


def exec_form(rest):
    """An instruction's command: the JSON exec form, or the shell form under /bin/sh -c."""
    if rest.startswith("["):
        return json.loads(rest)
    return ["/bin/sh", "-c", rest]


class Image:
    """The runtime stage of the Dockerfile applied to a chroot."""

    def __init__(self, dockerfile, packages_dir, root):
        stages = dockerfile_stages(dockerfile)
        build_stages = {s["name"]: s for s in stages[:-1] if s["name"]}
        runtime = stages[-1]
        if not re.fullmatch(r"debian:(12|bookworm)(-slim)?", runtime["image"]):
            raise AssertionError("the runtime stage is FROM %s; this test emulates debian:12 "
                                 "(debootstrap minbase)" % runtime["image"])
        self.env = {"PATH": DOCKER_PATH, "HOME": "/root", "HOSTNAME": "ollama-cpp-test"}
        self.volumes, self.expose, self.healthcheck = [], [], None
        self.entrypoint, self.cmd = [], []
        for instr, rest in runtime["steps"]:
            if instr == "COPY":
                words = shlex.split(rest)
                flags = [w for w in words if w.startswith("--")]
                files = [w for w in words if not w.startswith("--")]
                src_stage = None
                for fl in flags:
                    if fl.startswith("--from="):
                        src_stage = fl.split("=", 1)[1]
                    else:
                        raise AssertionError("COPY flag this test does not know: " + fl)
                srcs, dest = files[:-1], files[-1]
                for src in srcs:
                    if src_stage:
                        out = self.package_out_dir(build_stages[src_stage])
                        if not src.startswith(out + "/"):
                            raise AssertionError("COPY --from=%s %s: the build stage only "
                                                 "makes %s/" % (src_stage, src, out))
                        matches = glob.glob(os.path.join(packages_dir, src[len(out) + 1:]))
                    else:
                        matches = glob.glob(os.path.join(REPO, src))
                    if not matches:
                        raise AssertionError("COPY %s matches nothing" % src)
                    for m in matches:
                        target = root.path(dest)
                        if dest.endswith("/"):
                            os.makedirs(target, exist_ok=True)
                            target = os.path.join(target, os.path.basename(m))
                        shutil.copy2(m, target)
            elif instr == "RUN":
                args = exec_form(rest)
                p = run(["chroot", root.root] + args, env=self.env, check=False, timeout=900)
                if p.returncode != 0:
                    raise AssertionError("RUN %s exited %d:\n%s\n%s" % (
                        rest, p.returncode, p.stdout[-4000:], p.stderr[-4000:]))
            elif instr == "ENV":
                words = shlex.split(rest)
                if "=" in words[0]:
                    self.env.update(w.split("=", 1) for w in words)
                else:
                    self.env[words[0]] = rest.split(None, 1)[1]
            elif instr == "VOLUME":
                self.volumes += json.loads(rest) if rest.startswith("[") else rest.split()
            elif instr == "EXPOSE":
                self.expose += [int(w.split("/")[0]) for w in rest.split()]
            elif instr == "HEALTHCHECK":
                m = re.fullmatch(r"((?:--\S+\s+)*)(CMD|NONE)\s*(.*)", rest, re.S)
                if not m:
                    raise AssertionError("HEALTHCHECK not understood: " + rest)
                self.healthcheck = exec_form(m.group(3)) if m.group(2) == "CMD" else None
            elif instr == "ENTRYPOINT":
                self.entrypoint = exec_form(rest)
                self.cmd = []  # as Docker: a new ENTRYPOINT drops an inherited CMD
            elif instr == "CMD":
                self.cmd = exec_form(rest)
            elif instr == "LABEL":
                pass
            else:
                raise AssertionError("runtime-stage instruction this test does not emulate: "
                                     "%s %s" % (instr, rest))

    @staticmethod
    def package_out_dir(stage):
        """Where the build stage's `scripts/package.sh BUILD OUT` writes."""
        for instr, rest in stage["steps"]:
            m = re.search(r"scripts/package\.sh\s+(\S+)\s+(\S+)", rest)
            if instr == "RUN" and m:
                return m.group(2).rstrip("/")
        raise AssertionError("the build stage never runs scripts/package.sh BUILD OUT")
