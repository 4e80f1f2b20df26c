"""`cmake --install` into a scratch prefix: the two binaries, their man pages, the example
configs and a sandboxed systemd unit whose stop timeout covers the proxy's drain.

Run by ctest with BFAST_BUILD_DIR (the build tree) and BFAST_CONFIGURED_PREFIX (the
CMAKE_INSTALL_PREFIX the unit's paths were made for)."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

BUILD = os.environ.get("BFAST_BUILD_DIR", "")
CONFIGURED_PREFIX = os.environ.get("BFAST_CONFIGURED_PREFIX", "/usr/local")

MAN_PAGES = ("bfast.1", "bfast-proxy.1")
EXAMPLES = ("behind-ingress.json", "demo.json", "sidecar.json", "proxy.json")
SANDBOX = {
    "DynamicUser": "yes",
    "ProtectSystem": "strict",
    "NoNewPrivileges": "yes",
    "PrivateTmp": "yes",
    "CapabilityBoundingSet": "",
    "KillSignal": "SIGTERM",
}


class Installed(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="bfast-install-")
        cls.prefix = Path(cls.tmp.name)
        r = subprocess.run(["cmake", "--install", BUILD, "--prefix", cls.prefix],
                           capture_output=True, text=True, timeout=300, check=False)
        if r.returncode != 0:
            raise AssertionError(f"cmake --install failed:\n{r.stdout}\n{r.stderr}")
        cls.unit_path = cls.prefix / "lib" / "systemd" / "system" / "bfast-proxy.service"

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def unit(self):
        """The unit's [Service] settings, each key with the list of its values."""
        settings, section = {}, None
        for line in self.unit_path.read_text().splitlines():
            line = line.strip()
            if line.startswith("["):
                section = line
            elif line and not line.startswith("#") and "=" in line and section == "[Service]":
                key, value = line.split("=", 1)
                settings.setdefault(key, []).append(value)
        return settings

    def test_binaries_run_and_name_their_version(self):
        for name in ("bfast", "bfast-proxy"):
            with self.subTest(binary=name):
                path = self.prefix / "bin" / name
                self.assertTrue(os.access(path, os.X_OK), path)
                r = subprocess.run([path, "--version"], capture_output=True, text=True,
                                   timeout=60, check=False)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertRegex(r.stdout, rf"^{name} \d+\.\d+\.\d+ \(commit ")

    def test_man_pages(self):
        for page in MAN_PAGES:
            with self.subTest(page=page):
                path = self.prefix / "share" / "man" / "man1" / page
                text = path.read_text()
                title = page.removesuffix(".1").upper()
                self.assertTrue(text.startswith(f".TH {title} 1 "), text[:80])
                for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS"):
                    self.assertIn(f".SH {section}\n", text)
                if shutil.which("groff"):
                    # -ww: every warning; -z: check only. A clean page prints nothing.
                    r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", path],
                                       capture_output=True, text=True, timeout=60, check=False)
                    self.assertEqual((r.returncode, r.stderr), (0, ""))
                if shutil.which("man"):
                    r = subprocess.run(["man", "-l", path], capture_output=True, text=True,
                                       timeout=60, check=False, env={**os.environ, "MANPAGER": "cat",
                                                                     "PAGER": "cat"})
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertIn("--version", r.stdout.replace("\u2010", "-"))

    def test_example_configs_are_installed_and_valid(self):
        proxy = self.prefix / "bin" / "bfast-proxy"
        for name in EXAMPLES:
            with self.subTest(example=name):
                path = self.prefix / "share" / "doc" / "bfast-proxy" / "examples" / name
                self.assertTrue(path.is_file(), path)
                r = subprocess.run([proxy, "--print-config", "--config", path],
                                   capture_output=True, text=True, timeout=60, check=False)
                self.assertEqual(r.returncode, 0, r.stderr)

    def test_unit_is_sandboxed(self):
        unit = self.unit()
        for key, value in SANDBOX.items():
            with self.subTest(key=key):
                self.assertIn(value, unit.get(key, []), f"{key}= missing or not {value!r}")
        families = " ".join(unit.get("RestrictAddressFamilies", []))
        self.assertEqual(set(families.split()), {"AF_INET", "AF_INET6", "AF_UNIX"})
        self.assertGreaterEqual(int(unit["LimitNOFILE"][-1]), 65536)
        self.assertEqual(unit["ExecStart"][0].split()[0],
                         f"{CONFIGURED_PREFIX}/bin/bfast-proxy")
        # The proxy reloads on SIGHUP.
        self.assertRegex(unit["ExecReload"][0], r"kill -HUP \$MAINPID$")

    def test_stop_timeout_covers_the_drain(self):
        r = subprocess.run([self.prefix / "bin" / "bfast-proxy", "--print-config"],
                           capture_output=True, text=True, timeout=60, check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        ms = {m[1]: int(m[2]) for m in re.finditer(r"^(\w+) = (\d+) ", r.stdout, re.M)}
        drain_s = (ms["drain_delay_ms"] + ms["shutdown_timeout_ms"]) / 1000
        stop_s = int(self.unit()["TimeoutStopSec"][-1])
        self.assertGreater(stop_s, drain_s)

    def test_systemd_accepts_the_unit(self):
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze not installed")
        # The unit names the configured prefix; verify checks that ExecStart exists, so point a
        # copy at the scratch prefix.
        text = self.unit_path.read_text().replace(f"{CONFIGURED_PREFIX}/bin/",
                                                  f"{self.prefix}/bin/")
        copy = self.prefix / "verify" / "bfast-proxy.service"
        copy.parent.mkdir()
        copy.write_text(text)
        r = subprocess.run(["systemd-analyze", "verify", "--man=no", copy],
                           capture_output=True, text=True, timeout=120, check=False)
        # Unknown keys are only warnings, so a clean unit is one that prints nothing.
        self.assertEqual((r.returncode, r.stderr.strip()), (0, ""), r.stdout)


if __name__ == "__main__":
    if not BUILD:
        raise SystemExit("set BFAST_BUILD_DIR (tests/install/CMakeLists.txt does)")
    unittest.main(verbosity=2)
