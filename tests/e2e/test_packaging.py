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
import http.server
import os
import re
import shutil
import signal
import tempfile
import threading
import unittest

from debian_root import (REPO, TMP_PREFIX, Chroot, Image, base_tarball, build_dir,
                         clear_stale_roots, group_entries, passwd_entry, run, snapshot,
                         unit_fields)
from ollama_e2e import free_port, require_file, stories260k_path

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
