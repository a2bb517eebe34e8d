"""Installing like Ollama, each way in a fresh Debian 12 root entered with chroot:

- the .deb (scripts/package.sh): `apt-get install ./ollama-cpp_*.deb` pulls exactly its
  computed Depends, then the binary runs, the unit and the `ollama` user are there, the
  service runs as the unit says (user ollama, HOME /usr/share/ollama), and `dpkg -r` /
  `dpkg --purge` take them away again;
- scripts/install.sh with the release tarball: installs the listed runtime packages, the
  binary in /usr/local, the unit and the user; a second run (from a URL named by
  OLLAMA_CPP_TARBALL) leaves the root exactly as the first; the caller joins the group; a
  checkout's build/ollama installs too; `--uninstall` keeps the models, `--uninstall
  --purge` does not;
- the Dockerfile's runtime stage, applied to the root as Docker would (no Docker engine
  here): COPY --from=build takes package.sh's output, RUN runs in the root, ENV, VOLUME,
  EXPOSE, HEALTHCHECK, ENTRYPOINT and CMD are honoured; the server (PID 1 of its own PID
  namespace, as in a container) answers, the health check passes only while it runs, a model
  created with the image's CLI generates text into the volume, and `docker stop`'s SIGTERM
  ends it cleanly.

The root is `debootstrap --variant=minbase bookworm` (close to debian:12-slim), made once and
cached as BUILD/debian-minbase-bookworm.tar; OLLAMA_TEST_DEBIAN_ROOT names a ready root to
take it from instead. Needs root, debootstrap and deb.debian.org; skipped without the first
two. Every chroot gets its own /proc, /sys and /dev mounts, all unmounted (and the root
deleted) even when a test fails; a later run clears what a killed run left. Nothing runs
outside the chroots but scripts/package.sh, which writes only to a temporary directory."""

import functools
import glob
import hashlib
import http.server
import json
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
import unittest

from ollama_e2e import HERE, ServerProcess, free_port, require_file, stories260k_path

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


class QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


# --- the tests ----------------------------------------------------------------------------

class PackagingTest(unittest.TestCase):
    """The three ways to install, each in its own fresh root."""

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root (chroot, mount, dpkg in a Debian root)")
        clear_stale_roots()
        cls.base = base_tarball()
        cls.out = tempfile.mkdtemp(prefix=TMP_PREFIX + "packages-")
        try:
            p = run([os.path.join(REPO, "scripts", "package.sh"), build_dir(), cls.out],
                    timeout=300)
            cls.package_log = p.stdout
            cls.deb = glob.glob(os.path.join(cls.out, "ollama-cpp_*.deb"))[0]
            cls.tgz = glob.glob(os.path.join(cls.out, "ollama-cpp-*-linux-*.tgz"))[0]
        except BaseException:
            shutil.rmtree(cls.out, ignore_errors=True)
            raise
        with open(os.path.join(build_dir(), "CMakeCache.txt")) as f:
            cls.version = re.search(r"^CMAKE_PROJECT_VERSION:STATIC=(.*)$", f.read(), re.M).group(1)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.out, ignore_errors=True)

    def chroot(self, name):
        root = Chroot(self.base, name)
        self.addCleanup(root.close)
        return root

    def assert_user(self, root, home="/usr/share/ollama"):
        users = passwd_entry(root, "ollama")
        self.assertEqual(len(users), 1, users)
        self.assertEqual(users[0][5], home)
        self.assertEqual(len(group_entries(root, "ollama")), 1)
        uid = int(users[0][2])
        self.assertLess(uid, 1000, "a system user")
        st = os.stat(root.path(home))
        self.assertEqual((st.st_uid, st.st_gid), (uid, int(users[0][3])))
        return users[0]

    def test_package_names_and_version(self):
        arch = run(["dpkg", "--print-architecture"]).stdout.strip()
        self.assertEqual(os.path.basename(self.deb), "ollama-cpp_%s_%s.deb" % (self.version, arch))
        self.assertEqual(os.path.basename(self.tgz),
                         "ollama-cpp-%s-linux-%s.tgz" % (self.version, arch))
        info = run(["dpkg-deb", "--field", self.deb, "Version", "Depends"]).stdout
        self.assertIn("Version: " + self.version, info)
        # Depends names a package for every library the binary needs.
        needed = re.findall(r"NEEDED\s+(\S+)", run(["objdump", "-p", os.path.join(
            build_dir(), "ollama")]).stdout)
        self.assertIn("libcurl.so.4", needed)
        self.assertIn("libcurl4", info)
        names = run(["tar", "-tzf", self.tgz]).stdout.split()
        self.assertIn("bin/ollama", names)
        self.assertIn("share/ollama-cpp/debian-depends", names)

    def test_deb(self):
        root = self.chroot("deb")
        shutil.copy(self.deb, root.path("/tmp/"))
        deb_in = "/tmp/" + os.path.basename(self.deb)
        root.sh("apt-get update -qq && apt-get install -y -qq --no-install-recommends " + deb_in,
                env={"DEBIAN_FRONTEND": "noninteractive"})
        v = root.argv(["ollama", "--version"])
        self.assertIn(self.version, v.stdout + v.stderr)
        self.assertTrue(os.access(root.path("/usr/bin/ollama"), os.X_OK))
        with open(root.path("/lib/systemd/system/ollama.service")) as f:
            unit = unit_fields(f.read())
        self.assertEqual(unit["ExecStart"], ["/usr/bin/ollama serve"])
        self.assertEqual(unit["User"], ["ollama"])
        user = self.assert_user(root)
        # Again (a reinstall runs postinst again): still one user, nothing fails.
        root.argv(["dpkg", "-i", deb_in])
        self.assertEqual(self.assert_user(root), user)

        # The service as its unit runs it: user ollama, the unit's environment, on a free port.
        env = dict(v.split("=", 1) for v in unit["Environment"])
        self.assertEqual(env["OLLAMA_HOST"], "127.0.0.1:11434")
        env["OLLAMA_HOST"] = "127.0.0.1:%d" % free_port()
        server = root.start(unit["ExecStart"][0].split(), env,
                            userspec="%s:%s" % (user[2], user[3]))
        try:
            self.assertEqual(server.get("/api/version").json()["version"], self.version)
        finally:
            server.stop()
        self.assertTrue(os.path.exists(root.path("/usr/share/ollama/.ollama/id_ed25519")),
                        "the service keeps its key and models in its home")

        root.argv(["dpkg", "-r", "ollama-cpp"])
        self.assertFalse(os.path.exists(root.path("/usr/bin/ollama")))
        self.assertFalse(os.path.exists(root.path("/lib/systemd/system/ollama.service")))
        self.assertEqual(len(passwd_entry(root, "ollama")), 1, "remove keeps the user")
        root.argv(["dpkg", "--purge", "ollama-cpp"])
        self.assertEqual(passwd_entry(root, "ollama"), [])
        self.assertEqual(group_entries(root, "ollama"), [])
        self.assertFalse(os.path.exists(root.path("/usr/share/ollama")))

    def test_install_sh(self):
        root = self.chroot("installsh")
        shutil.copy(os.path.join(REPO, "scripts", "install.sh"), root.path("/tmp/install.sh"))
        shutil.copy(self.tgz, root.path("/tmp/"))
        tgz_in = "/tmp/" + os.path.basename(self.tgz)
        first = root.sh("sh /tmp/install.sh --tarball " + tgz_in)
        self.assertIn("Installing runtime packages", first.stdout)
        self.assertIn("systemd is not running", first.stdout)
        v = root.argv(["/usr/local/bin/ollama", "--version"])
        self.assertIn(self.version, v.stdout + v.stderr)
        with open(root.path("/etc/systemd/system/ollama.service")) as f:
            unit = unit_fields(f.read())
        self.assertEqual(unit["ExecStart"], ["/usr/local/bin/ollama serve"])
        self.assertEqual(unit["User"], ["ollama"])
        self.assertIn("HOME=/usr/share/ollama", unit["Environment"])
        self.assert_user(root)

        # Twice, the second time from a URL (curl) named by OLLAMA_CPP_TARBALL: the same root.
        root.sh("apt-get install -y -qq --no-install-recommends curl",
                env={"DEBIAN_FRONTEND": "noninteractive"})
        before = snapshot(root)
        handler = functools.partial(QuietFiles, directory=self.out)
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            url = "http://127.0.0.1:%d/%s" % (httpd.server_address[1], os.path.basename(self.tgz))
            again = root.sh("sh /tmp/install.sh", env={"OLLAMA_CPP_TARBALL": url})
        finally:
            httpd.shutdown()
            httpd.server_close()
        self.assertIn("Downloading " + url, again.stdout)
        self.assertNotIn("Installing runtime packages", again.stdout)
        after = snapshot(root)
        self.assertEqual(sorted(set(before) ^ set(after))[:20], [], "a second run changed these")

        # Run through sudo by a user: that user joins the group.
        root.argv(["useradd", "-m", "alice"])
        root.sh("sh /tmp/install.sh --tarball " + tgz_in, env={"SUDO_USER": "alice"})
        self.assertEqual(group_entries(root, "ollama")[0][3], "alice")

        # From a built checkout (no tarball): the script's ../build/ollama.
        os.makedirs(root.path("/src/scripts"))
        os.makedirs(root.path("/src/build"))
        shutil.copy(os.path.join(REPO, "scripts", "install.sh"), root.path("/src/scripts/"))
        shutil.copy(os.path.join(build_dir(), "ollama"), root.path("/src/build/"))
        self.assertIn("checkout's build", root.sh("cd /src && sh scripts/install.sh").stdout)
        with open(root.path("/usr/local/bin/ollama"), "rb") as a, \
                open(os.path.join(build_dir(), "ollama"), "rb") as b:
            self.assertTrue(a.read() == b.read(), "the checkout's binary is installed")

        # Uninstall keeps the models (a later install takes them over); --purge does not.
        root.sh("install -d -o ollama -g ollama /usr/share/ollama/.ollama/models")
        root.sh("sh /tmp/install.sh --uninstall")
        for p in ("/usr/local/bin/ollama", "/etc/systemd/system/ollama.service"):
            self.assertFalse(os.path.exists(root.path(p)), p)
        self.assertEqual(passwd_entry(root, "ollama"), [])
        self.assertEqual(group_entries(root, "ollama"), [])
        self.assertTrue(os.path.isdir(root.path("/usr/share/ollama/.ollama/models")))
        old_uid = os.stat(root.path("/usr/share/ollama/.ollama/models")).st_uid
        root.argv(["useradd", "--system", "--uid", str(old_uid), "squatter"])  # a new id then
        root.sh("sh /tmp/install.sh --tarball " + tgz_in)
        self.assertNotEqual(int(passwd_entry(root, "ollama")[0][2]), old_uid)
        st = os.stat(root.path("/usr/share/ollama/.ollama/models"))
        self.assertEqual(st.st_uid, int(passwd_entry(root, "ollama")[0][2]))
        root.sh("sh /tmp/install.sh --uninstall --purge")
        self.assertFalse(os.path.exists(root.path("/usr/share/ollama")))
        self.assertFalse(os.path.exists(root.path("/usr/local/bin/ollama")))

    def test_docker_image(self):
        gguf = require_file(stories260k_path())
        root = self.chroot("image")
        image = Image(os.path.join(REPO, "Dockerfile"), self.out, root)
        self.assertEqual(image.entrypoint + image.cmd, ["/usr/bin/ollama", "serve"])
        self.assertIn("/root/.ollama", image.volumes)
        self.assertIn(int(image.env["OLLAMA_HOST"].rsplit(":", 1)[1]), image.expose)
        self.assertIsNotNone(image.healthcheck)
        self.assertEqual(glob.glob(root.path("/tmp/*.deb")), [], "RUN cleans up the .deb")

        # `docker run -v VOLUME:/root/.ollama`: a host directory mounted there.
        volume = os.path.join(root.dir, "volume")
        os.mkdir(volume)
        os.makedirs(root.path("/root/.ollama"), exist_ok=True)
        run(["mount", "--bind", volume, root.path("/root/.ollama")])
        env = dict(image.env, OLLAMA_HOST="127.0.0.1:%d" % free_port())
        down = run(["chroot", root.root] + image.healthcheck, env=env, check=False, timeout=60)
        self.assertNotEqual(down.returncode, 0, "the health check fails with no server")

        server = root.start(image.entrypoint + image.cmd, env, pid1=True)
        try:
            self.assertEqual(server.get("/api/version").json()["version"], self.version)
            hc = run(["chroot", root.root] + image.healthcheck, env=env, check=False, timeout=60)
            self.assertEqual(hc.returncode, 0, hc.stdout + hc.stderr)
            # The image's own CLI creates a model from a Modelfile.
            shutil.copy(gguf, root.path("/tmp/stories.gguf"))
            with open(root.path("/tmp/Modelfile"), "w") as f:
                f.write("FROM /tmp/stories.gguf\n")
            run(["chroot", root.root, "/usr/bin/ollama", "create", "stories", "-f",
                 "/tmp/Modelfile"], env=env, timeout=120)
            r = server.post("/api/generate", {"model": "stories", "prompt": "Once upon a time",
                                              "stream": False,
                                              "options": {"temperature": 0, "num_predict": 8}})
            self.assertEqual(r.status, 200, r.text)
            self.assertEqual(r.json()["eval_count"], 8)
            self.assertTrue(r.json()["response"].strip(), r.text)
            # `docker stop`: SIGTERM to the container's PID 1, which has no default actions.
            os.kill(root.pid1(), signal.SIGTERM)
            self.assertEqual(server.proc.wait(timeout=20), 0, "a clean exit on SIGTERM")
        except BaseException:
            print(server.log())
            raise
        finally:
            server.stop()
        # The store and the key went to the volume.
        self.assertTrue(os.path.exists(os.path.join(volume, "id_ed25519")))
        self.assertTrue(glob.glob(os.path.join(volume, "models", "manifests", "*", "*", "stories",
                                               "latest")))


if __name__ == "__main__":
    unittest.main()
