"""Tests of the bfast command-line tool, run as a user runs it: a subprocess, bytes on stdout.

Environment (set by tests/cli/CMakeLists.txt):
  BFAST_CLI      the built bfast executable
  BFAST_SHARED   the shared reference data (conformance goldens, corpus, oracles)
  BFAST_ORACLE_PYTHON  the interpreter that runs oracles/check.py (Debian's, for the module ABI)
Run one group with: test_cli.py ClassName
"""
import errno
import gzip
import json
import os
import pty
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

BFAST = os.environ.get("BFAST_CLI", "")
SHARED = Path(os.environ.get("BFAST_SHARED", ""))
ORACLE_PYTHON = os.environ.get("BFAST_ORACLE_PYTHON", "/usr/bin/python3")

EXIT_OK, EXIT_BAD_INPUT, EXIT_USAGE = 0, 1, 2


def run(*args, stdin=None, input_bytes=None, stdout=subprocess.PIPE):
    """Runs bfast; stdin is /dev/null unless input is given, so nothing waits on a terminal."""
    if input_bytes is None and stdin is None:
        stdin = subprocess.DEVNULL
    return subprocess.run([BFAST, *map(str, args)], stdin=stdin, input=input_bytes,
                          stdout=stdout, stderr=subprocess.PIPE, timeout=300, check=False)


# Goldens holding the integer -0, which the reference writes as 0 and TypeScript reads as +0:
# refused as negative_zero (Fidelity.test_negative_zero_goldens_are_refused).
NEGATIVE_ZERO_GOLDENS = {"scalar_neg_zero_int.json", "y_number_minus_zero.json",
                         "y_number_negative_zero.json"}
ORACLES = Path(__file__).resolve().parent.parent / "oracles"
ORACLE_SKIPPED = 3  # check_limits.py: json.loads cannot parse the JSON, no verdict


def golden_pairs():
    """Every .json with a .bfast beside it, in the conformance set and the realworld corpus."""
    pairs = []
    for folder in (SHARED / "conformance", SHARED / "corpus" / "realworld"):
        for j in sorted(folder.glob("*.json")):
            b = j.with_suffix(".bfast")
            if b.exists() and j.name not in NEGATIVE_ZERO_GOLDENS:
                pairs.append((j, b))
    return pairs


def depth_and_values(v):
    """The depth inspect reports (root = 1, a scalar inside a container one deeper) and the
    number of values, containers included."""
    if isinstance(v, dict):
        children = list(v.values())
    elif isinstance(v, list):
        children = v
    else:
        return 1, 1
    depth, values = 1, 1
    for c in children:
        d, n = depth_and_values(c)
        depth = max(depth, d + 1)
        values += n
    return depth, values


class BfastTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="bfast-cli-")
        self.dir = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def assert_refused(self, r, code, *words):
        """Exit `code`, nothing on stdout, and a reason on stderr naming `words`."""
        err = r.stderr.decode("utf-8", "replace")
        self.assertEqual(r.returncode, code, err)
        self.assertEqual(r.stdout, b"", "a refusal must write nothing on stdout")
        self.assertTrue(err.startswith("bfast: "), err)
        for w in words:
            self.assertIn(w, err)
        return err

    def assert_one_line(self, err):
        self.assertTrue(err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}")


class EncodeGolden(BfastTestCase):
    def test_goldens_are_found(self):
        names = {j.name for j, _ in golden_pairs()}
        self.assertGreaterEqual(len(names), 20, names)
        self.assertIn("twitter.json", names)

    def test_compress_none_reproduces_every_golden(self):
        for j, b in golden_pairs():
            with self.subTest(file=j.name):
                r = run("encode", "--compress=none", j)
                self.assertEqual(r.returncode, EXIT_OK, r.stderr)
                self.assertEqual(r.stderr, b"")
                self.assertTrue(r.stdout == b.read_bytes(), f"{j.name}: bytes differ from {b.name}")

    def test_default_is_uncompressed(self):
        j = SHARED / "corpus" / "realworld" / "twitter.json"
        r = run("encode", j)
        self.assertEqual(r.returncode, EXIT_OK, r.stderr)
        self.assertTrue(r.stdout == j.with_suffix(".bfast").read_bytes())

    def test_output_file(self):
        for j, b in golden_pairs()[:5]:
            out = self.dir / (j.stem + ".bfast")
            r = run("encode", "--compress", "none", "-o", out, j)
            self.assertEqual((r.returncode, r.stdout), (EXIT_OK, b""), r.stderr)
            self.assertTrue(out.read_bytes() == b.read_bytes(), j.name)


class EncodeRefusals(BfastTestCase):
    INVALID = [b"", b"   ", b"{", b"[1,]", b'{"a":1,}', b'{"a" 1}', b"nul", b"[1] x",
               b"'single'", b'"unterminated', b"01", b"[1e]", b'{"a":1}{"b":2}']

    def test_invalid_json(self):
        for text in self.INVALID:
            with self.subTest(text=text):
                err = self.assert_refused(run("encode", "-", input_bytes=text), EXIT_BAD_INPUT,
                                          "invalid JSON")
                self.assert_one_line(err)

    def test_jsontestsuite_rejections(self):
        files = sorted((SHARED / "corpus" / "jsontestsuite").glob("n_*.json"))
        self.assertGreater(len(files), 100)
        for f in files:
            with self.subTest(file=f.name):
                self.assert_one_line(self.assert_refused(run("encode", f), EXIT_BAD_INPUT))

    def test_not_representable(self):
        cases = {"key_256_bytes.json": "key_too_long", "deep_200.json": "too_deep",
                 "lone_surrogate.json": "lone_surrogate", "keys_70000_distinct.json": "too_many_keys"}
        for name, token in cases.items():
            for compress in ("none", "lz4"):
                with self.subTest(file=name, compress=compress):
                    f = SHARED / "corpus" / "semantic" / name
                    r = run("encode", f"--compress={compress}", f)
                    self.assert_one_line(self.assert_refused(r, EXIT_BAD_INPUT, "not representable", token))

    def test_proto_key(self):
        r = run("encode", input_bytes=b'{"a":{"__proto__":1}}')
        self.assert_one_line(self.assert_refused(r, EXIT_BAD_INPUT, "proto_key"))

    def test_refusal_leaves_output_file_alone(self):
        out = self.dir / "out.bfast"
        r = run("encode", "-o", out, "-", input_bytes=b"[1,")
        self.assert_refused(r, EXIT_BAD_INPUT, "invalid JSON")
        self.assertFalse(out.exists(), "invalid input must not create the output file")

    def test_missing_input_file(self):
        r = run("encode", self.dir / "absent.json")
        self.assert_one_line(self.assert_refused(r, EXIT_BAD_INPUT, "absent.json"))


class UsageErrors(BfastTestCase):
    def test_usage_errors_exit_2(self):
        j = SHARED / "conformance" / "empty_object.json"
        cases = [
            ("encode", "--bogus", j),
            ("encode", "-x", j),
            ("encode", j, j),
            ("encode", "a.json", "b.json"),
            ("encode", "--compress=zip", j),
            ("encode", "--compress", "gzip", j),
            ("encode", "--compress", j),  # the file is taken as the value
            ("encode", "--compress=", j),
            ("encode", "--threads", "0", j),
            ("encode", "--threads=abc", j),
            ("encode", "--threads=1.5", j),
            ("encode", "--threads=-2", j),
            ("encode", "--threads=100000", j),
            ("encode", j, "--threads"),
            ("encode", j, "-o"),
            ("encode", "--rtt", "5", j),  # network hints belong to --compress=auto
            ("decode", "--compress=lz4", j),
            ("decode", "a", "b"),
            ("inspect", "--pretty", j),
            ("inspect", "-o", "x", j),
            ("frobnicate",),
            (),
        ]
        for args in cases:
            with self.subTest(args=[str(a) for a in args]):
                r = run(*args)
                self.assertEqual(r.returncode, EXIT_USAGE, r.stderr)
                self.assertEqual(r.stdout, b"")
                self.assertNotEqual(r.stderr, b"")

    def test_help(self):
        r = run("--help")
        self.assertEqual(r.returncode, EXIT_OK)
        self.assertIn(b"bfast encode", r.stdout)

    def test_each_command_has_help(self):
        for command in ("encode", "decode", "inspect"):
            for flag in ("--help", "-h"):
                with self.subTest(command=command, flag=flag):
                    r = run(command, flag)
                    self.assertEqual(r.returncode, EXIT_OK, r.stderr)
                    self.assertIn(b"usage: bfast " + command.encode(), r.stdout)
                    self.assertEqual(r.stderr, b"")

    def test_unknown_command_is_named(self):
        err = self.assert_refused(run("frobnicate", "x.json"), EXIT_USAGE, "'frobnicate'")
        self.assertIn("encode", err)

    def test_version_names_the_version_and_commit(self):
        r = run("--version")
        self.assertEqual(r.returncode, EXIT_OK, r.stderr)
        self.assertRegex(r.stdout.decode(), r"^bfast \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}|unknown)\)\n$")


def run_on_terminal(*args):
    """Runs bfast with stdout on a pseudo-terminal; returns (exit code, bytes it wrote there,
    stderr)."""
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen([BFAST, *map(str, args)], stdin=subprocess.DEVNULL, stdout=slave,
                             stderr=subprocess.PIPE)
        os.close(slave)
        slave = -1
        _, err = p.communicate(timeout=300)
        # With every copy of the slave closed, reading the master drains what was written and
        # then fails with EIO.
        shown = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError as e:
                if e.errno != errno.EIO:
                    raise
                break
            if not chunk:
                break
            shown += chunk
        return p.returncode, shown, err
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)


class Terminal(BfastTestCase):
    def test_binary_to_terminal_is_refused(self):
        j = SHARED / "corpus" / "realworld" / "twitter.json"
        for compress in ("none", "lz4"):
            with self.subTest(compress=compress):
                code, shown, err = run_on_terminal("encode", f"--compress={compress}", j)
                self.assertNotEqual(code, EXIT_OK)
                self.assertEqual(shown, b"", "binary reached the terminal")
                self.assertIn(b"terminal", err)
                self.assertIn(b"-o", err)

    def test_output_file_works_with_a_terminal(self):
        j = SHARED / "corpus" / "realworld" / "twitter.json"
        out = self.dir / "twitter.bfast"
        code, shown, err = run_on_terminal("encode", "-o", out, j)
        self.assertEqual(code, EXIT_OK, err)
        self.assertEqual(shown, b"")
        self.assertTrue(out.read_bytes() == j.with_suffix(".bfast").read_bytes())

    def test_decode_to_terminal_is_text_and_allowed(self):
        b = SHARED / "conformance" / "empty_object.bfast"
        code, shown, err = run_on_terminal("decode", b)
        self.assertEqual(code, EXIT_OK, err)
        self.assertEqual(shown.strip(), b"{}")


class Decode(BfastTestCase):
    def encode(self, src, *flags):
        out = self.dir / (src.stem + "".join(f.strip("-=").replace("=", "_") for f in flags) + ".bfast")
        r = run("encode", *flags, "-o", out, src)
        self.assertEqual(r.returncode, EXIT_OK, r.stderr)
        return out

    def layout_of(self, message):
        r = run("inspect", message)
        self.assertEqual(r.returncode, EXIT_OK, r.stderr)
        first = r.stdout.decode().splitlines()[0]
        self.assertTrue(first.startswith("layout:"), first)
        return first.split(":", 1)[1].strip()

    def decoded(self, message, *flags):
        r = run("decode", *flags, message)
        self.assertEqual(r.returncode, EXIT_OK, r.stderr)
        return json.loads(r.stdout)

    def test_goldens_decode_to_their_json(self):
        for j, b in golden_pairs():
            with self.subTest(file=j.name):
                self.assertEqual(self.decoded(b), json.loads(j.read_bytes()))

    def test_lz4_single_and_parallel_round_trip(self):
        realworld = SHARED / "corpus" / "realworld"
        seen = set()
        for j in sorted(realworld.glob("*.json")):
            with self.subTest(file=j.name):
                m = self.encode(j, "--compress=lz4")
                layout = self.layout_of(m)
                seen.add(layout)
                want = json.loads(j.read_bytes())
                self.assertEqual(self.decoded(m), want)
                self.assertEqual(self.decoded(m, "--pretty"), want)
                self.assertNotEqual(m.read_bytes()[:2], b"BF")
        # canada.json's message passes the 1,000,000-byte parallel threshold; the rest do not.
        self.assertEqual(seen, {"lz4 single block", "lz4 parallel chunks"})

    def test_parallel_output_does_not_depend_on_threads(self):
        j = SHARED / "corpus" / "realworld" / "canada.json"
        one = self.encode(j, "--compress=lz4", "--threads=1")
        two = self.encode(j, "--compress=lz4", "--threads=2")
        self.assertEqual(self.layout_of(one), "lz4 parallel chunks")
        self.assertTrue(one.read_bytes() == two.read_bytes())

    def test_magic_collision_sizes(self):
        for name in ("size_collides_with_magic.json", "size_collides_with_magic_plus_64k.json"):
            with self.subTest(file=name):
                j = SHARED / "corpus" / "semantic" / name
                m = self.encode(j, "--compress=lz4")
                self.assertNotEqual(m.read_bytes()[:2], b"BF")
                self.assertEqual(self.decoded(m), json.loads(j.read_bytes()))

    def test_oracle_reads_lz4_output_exactly(self):
        for name in ("twitter.json", "canada.json"):
            with self.subTest(file=name):
                j = SHARED / "corpus" / "realworld" / name
                m = self.encode(j, "--compress=lz4")
                r = subprocess.run([ORACLE_PYTHON, SHARED / "oracles" / "check.py", j, m],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300,
                                   check=False)
                self.assertEqual((r.returncode, r.stdout.strip()), (0, b"ok"), r.stdout)

    def test_malformed_input_exits_1(self):
        golden = (SHARED / "conformance" / "keys_127_distinct.bfast").read_bytes()
        lz4 = self.encode(SHARED / "corpus" / "realworld" / "twitter.json", "--compress=lz4").read_bytes()
        cases = {
            "empty": b"",
            "magic only": b"BF",
            "bad magic": b"XX" + golden[2:],
            "golden cut short": golden[:-1],
            "golden cut in the table": golden[: len(golden) // 4],
            "json text": b'{"a": 1}',
            "lz4 cut short": lz4[:-7],
            "lz4 size prefix inflated": (int.from_bytes(lz4[:4], "little") + 1).to_bytes(4, "little") + lz4[4:],
            "lz4 bomb": (1 << 31).to_bytes(4, "little") + lz4[4:],
        }
        for what, data in cases.items():
            with self.subTest(case=what):
                err = self.assert_refused(run("decode", "-", input_bytes=data), EXIT_BAD_INPUT,
                                          "malformed B-FAST")
                self.assert_one_line(err)
                r = run("inspect", "-", input_bytes=data)
                self.assert_refused(r, EXIT_BAD_INPUT, "malformed B-FAST")

    def refusal_of(self, data):
        err = self.assert_refused(run("decode", "-", input_bytes=data), EXIT_BAD_INPUT,
                                  "malformed B-FAST")
        self.assert_one_line(err)
        return err

    def test_json_is_explained_as_a_pass_through(self):
        for body in (b'{"a": 1}', b'\n  [1, 2, 3]', b'\xef\xbb\xbf{"a": []}'):
            with self.subTest(body=body):
                err = self.refusal_of(body)
                self.assertIn("this is JSON", err)
                self.assertIn("BFast-Status", err)

    def test_gzip_and_zstd_are_named(self):
        message = (SHARED / "conformance" / "users_1000.bfast").read_bytes()
        err = self.refusal_of(gzip.compress(message))
        self.assertIn("gzip", err)
        self.assertIn("--compressed", err)
        # A zstd frame: its magic, then bytes that do not matter to the diagnosis.
        err = self.refusal_of(bytes.fromhex("28b52ffd") + message[:64])
        self.assertIn("zstd", err)
        self.assertIn("--compressed", err)

    def test_cut_lz4_single_block_says_how_much_is_missing(self):
        src = SHARED / "corpus" / "realworld" / "twitter.json"
        whole = self.encode(src, "--compress=lz4").read_bytes()
        self.assertEqual(self.layout_of(self.encode(src, "--compress=lz4")), "lz4 single block")
        declared = int.from_bytes(whole[:4], "little")
        err = self.refusal_of(whole[: len(whole) // 2])
        self.assertIn("single block cut short", err)
        self.assertRegex(err, rf"declares {declared} message bytes but its {len(whole) // 2 - 4} "
                              r"bytes decode to only \d+ \(\d+ missing\)")
        # A whole block under a wrong size prefix is not a cut-off download.
        for prefix in (declared + 1, 1 << 31):
            err = self.refusal_of(prefix.to_bytes(4, "little") + whole[4:])
            self.assertNotIn("cut short", err)

    def test_cut_lz4_parallel_names_the_chunk_and_missing_bytes(self):
        src = SHARED / "corpus" / "realworld" / "canada.json"
        path = self.encode(src, "--compress=lz4", "--threads=4")
        whole = path.read_bytes()
        report = run("inspect", path).stdout.decode()
        starts = [int(line.split()[3]) for line in report.splitlines() if line.strip().startswith("chunk ")]
        sizes = [int(line.split()[4]) for line in report.splitlines() if line.strip().startswith("chunk ")]
        # The message leads with one-byte chunks; cut into the first slice that is not one.
        first = next(i for i, size in enumerate(sizes) if size > 100)
        self.assertGreaterEqual(len(starts) - first, 3, report)
        # Cut 100 bytes into that chunk's block: 4-byte length, then sizes[first] bytes of chunk.
        cut = starts[first] + 4 + 100
        err = self.refusal_of(whole[:cut])
        self.assertIn(f"chunk #{first} of {len(starts)} (at byte {starts[first]}) has 100 of its "
                      f"{sizes[first]} bytes ({sizes[first] - 100} missing)", err)
        self.assertIn(f"chunks #{first + 1} to #{len(starts) - 1} are missing entirely", err)

    def test_decode_output_file(self):
        out = self.dir / "twitter.json"
        b = SHARED / "corpus" / "realworld" / "twitter.bfast"
        r = run("decode", "-o", out, b)
        self.assertEqual((r.returncode, r.stdout), (EXIT_OK, b""), r.stderr)
        self.assertEqual(json.loads(out.read_bytes()),
                         json.loads((SHARED / "corpus" / "realworld" / "twitter.json").read_bytes()))


class Inspect(BfastTestCase):
    def fields(self, stdout):
        out = {}
        for line in stdout.decode().splitlines():
            if line.startswith(" "):
                continue
            key, _, value = line.partition(":")
            out[key] = value.strip()
        return out

    def test_uncompressed_report(self):
        for name, root in (("github_events", "array"), ("twitter", "object"), ("canada", "object")):
            with self.subTest(file=name):
                b = SHARED / "corpus" / "realworld" / f"{name}.bfast"
                r = run("inspect", b)
                self.assertEqual(r.returncode, EXIT_OK, r.stderr)
                f = self.fields(r.stdout)
                size = str(b.stat().st_size)
                depth, values = depth_and_values(json.loads(b.with_suffix(".json").read_bytes()))
                self.assertEqual(f["layout"], "uncompressed")
                self.assertEqual(f["wire bytes"], size)
                self.assertEqual(f["message bytes"], size)
                self.assertRegex(f["string table"], r"^\d+ entries \(\d+ fillers\), \d+ bytes with header$")
                self.assertTrue(f["root"].startswith(root + ","), f["root"])
                self.assertEqual(f["max depth"], str(depth))
                self.assertEqual(f["values"], str(values))
                self.assertEqual(f["trailing bytes"], "0")

    def test_fillers_are_counted(self):
        # 200 distinct keys take 201 slots: the one at index 127 is a filler.
        m = self.dir / "keys.bfast"
        j = SHARED / "corpus" / "semantic" / "keys_200_distinct.json"
        self.assertEqual(run("encode", "-o", m, j).returncode, EXIT_OK)
        r = run("inspect", m)
        self.assertEqual(r.returncode, EXIT_OK, r.stderr)
        self.assertTrue(self.fields(r.stdout)["string table"].startswith("201 entries (1 fillers)"),
                        r.stdout)

    def test_parallel_report_lists_chunks(self):
        j = SHARED / "corpus" / "realworld" / "canada.json"
        m = self.dir / "canada.lz4"
        self.assertEqual(run("encode", "--compress=lz4", "-o", m, j).returncode, EXIT_OK)
        r = run("inspect", m)
        self.assertEqual(r.returncode, EXIT_OK, r.stderr)
        f = self.fields(r.stdout)
        self.assertEqual(f["layout"], "lz4 parallel chunks")
        self.assertEqual(f["wire bytes"], str(m.stat().st_size))
        self.assertEqual(f["message bytes"], str(j.with_suffix(".bfast").stat().st_size))
        chunks = [l for l in r.stdout.decode().splitlines() if l.startswith("  chunk ")]
        self.assertEqual(len(chunks), int(f["chunks"]))
        self.assertGreater(len(chunks), 1)
        self.assertEqual(sum(int(l.split()[-2]) for l in chunks), int(f["message bytes"]))


class Stdin(BfastTestCase):
    def test_dash_and_no_argument_read_stdin(self):
        j = SHARED / "corpus" / "realworld" / "github_events.json"
        want = j.with_suffix(".bfast").read_bytes()
        for args in (("encode", "-"), ("encode",), ("encode", "--compress=none", "-")):
            with self.subTest(args=args):
                with open(j, "rb") as f:
                    r = run(*args, stdin=f)
                self.assertEqual(r.returncode, EXIT_OK, r.stderr)
                self.assertTrue(r.stdout == want)

    def test_pipeline_encode_decode_inspect(self):
        j = SHARED / "corpus" / "realworld" / "twitter.json"
        enc = run("encode", "--compress=lz4", "-", input_bytes=j.read_bytes())
        self.assertEqual(enc.returncode, EXIT_OK, enc.stderr)
        dec = run("decode", "-", input_bytes=enc.stdout)
        self.assertEqual(dec.returncode, EXIT_OK, dec.stderr)
        self.assertEqual(json.loads(dec.stdout), json.loads(j.read_bytes()))
        ins = run("inspect", input_bytes=enc.stdout)
        self.assertEqual(ins.returncode, EXIT_OK, ins.stderr)
        self.assertIn(b"layout:          lz4 single block", ins.stdout)


class Auto(BfastTestCase):
    def test_verbose_auto_explains_its_choice(self):
        j = SHARED / "corpus" / "realworld" / "twitter.json"
        r = run("encode", "--compress=auto", "-v", "--rtt", "300", "--downlink", "1", j)
        self.assertEqual(r.returncode, EXIT_OK, r.stderr)
        self.assertIn(b"reason", r.stderr)
        self.assertEqual(self_decoded(r.stdout), json.loads(j.read_bytes()))


class Fidelity(BfastTestCase):
    """What both deployed decoders must read exactly, or what is refused, on every mode."""

    MODES = (("--compress=none",), ("--compress=lz4",), ("--compress=auto",), ("--pack-floats",),
             ("--threads", "2"), ("--compress=auto", "--rtt", "150", "--downlink", "2"),
             ("--compress=auto", "--save-data"))

    def oracles(self, json_path, message_path):
        """Both deployed decoders, strictly: [] when each read the JSON's value exactly."""
        env = dict(os.environ, BFAST_SHARED_DIR=str(SHARED))
        failures = []
        for cmd in ([ORACLE_PYTHON, ORACLES / "check_limits.py"], ["node", ORACLES / "check_strict.js"]):
            r = subprocess.run([*cmd, json_path, message_path], capture_output=True, env=env,
                               timeout=300, check=False)
            if r.returncode == ORACLE_SKIPPED and r.stdout.startswith(b"skip:"):
                continue
            if (r.returncode, r.stdout.strip()) != (0, b"ok"):
                failures.append(f"{Path(cmd[-1]).name}: {r.stdout.strip()[:200]!r}")
        return failures

    def assert_refused_everywhere(self, text, token):
        for mode in self.MODES:
            with self.subTest(json=text[:40], mode=mode):
                r = run("encode", *mode, input_bytes=text.encode())
                self.assert_one_line(self.assert_refused(r, EXIT_BAD_INPUT, "not representable", token))

    def assert_exact_everywhere(self, text):
        j = self.dir / "doc.json"
        j.write_text(text, encoding="utf-8")
        for mode in self.MODES:
            with self.subTest(json=text[:40], mode=mode):
                out = self.dir / "doc.bfast"
                r = run("encode", *mode, "-o", out, j)
                self.assertEqual(r.returncode, EXIT_OK, r.stderr)
                self.assertEqual(self.oracles(j, out), [])

    def test_leading_bom_is_refused(self):
        for text in ('"\ufeff"', '{"\ufeffa":1,"a":2}', '["x",{"k":"\uFEFFv"}]', '"\ufeffz"',
                     '{"\ufeff":[1.5,2.5]}'):
            self.assert_refused_everywhere(text, "leading_bom")
        self.assert_refused_everywhere('["\ufeff' + "x" * 2_000_000 + '"]', "leading_bom")

    def test_u_feff_after_the_first_character_is_exact(self):
        self.assert_exact_everywhere('{"a\ufeff":"b\ufeff","c":["\u00e9\ufeff"]}')

    def test_negative_zero_is_refused(self):
        for text in ("-0", "[-0]", '{"a":[0,-0]}', "[1e400,-0]", "[99999999999999999999999,-0]"):
            self.assert_refused_everywhere(text, "negative_zero")
        self.assert_refused_everywhere("[" + "0," * 600_000 + "-0]", "negative_zero")

    def test_negative_zero_goldens_are_refused(self):
        for name in sorted(NEGATIVE_ZERO_GOLDENS):
            with self.subTest(file=name):
                r = run("encode", SHARED / "conformance" / name)
                self.assert_refused(r, EXIT_BAD_INPUT, "negative_zero")

    def test_float_zeros_and_minus_zero_in_strings_are_exact(self):
        self.assert_exact_everywhere('[-0.0,-0e0,-1e-400,0,"-0","a:-0 ",{"-0":-0.0}]')

    def test_packed_floats_at_depth_128(self):
        # Nine doubles: past the default minimum of eight for packing.
        text = "[" * 127 + "[1.5,-2.25,0.0,1.5,2.5,3.5,4.5,5.5,6.5]" + "]" * 127
        self.assert_refused(run("encode", input_bytes=text.encode()), EXIT_BAD_INPUT, "too_deep")
        self.assertEqual(run("encode", "--pack-floats", input_bytes=text.encode()).returncode, EXIT_OK)
        j = self.dir / "deep.json"
        j.write_text(text)
        out = self.dir / "deep.bfast"
        self.assertEqual(run("encode", "--pack-floats", "-o", out, j).returncode, EXIT_OK)
        self.assertEqual(self.oracles(j, out), [])

    def test_integers_past_the_python_parser_limit_are_skipped(self):
        j = self.dir / "digits.json"
        j.write_text("[" + "9" * 5000 + "]")
        out = self.dir / "digits.bfast"
        self.assertEqual(run("encode", "-o", out, j).returncode, EXIT_OK)
        r = subprocess.run([ORACLE_PYTHON, ORACLES / "check_limits.py", j, out], capture_output=True,
                           env=dict(os.environ, BFAST_SHARED_DIR=str(SHARED)), check=False)
        self.assertEqual(r.returncode, ORACLE_SKIPPED, r.stdout)
        self.assertTrue(r.stdout.startswith(b"skip:"))
        self.assertEqual(self.oracles(j, out), [])

    def test_parallel_lz4_is_read_by_the_python_decoder(self):
        # 1,048,564 'a': the parallel message the Python decoder took for one short block.
        j = self.dir / "a.json"
        j.write_text('"' + "a" * 1_048_564 + '"')
        for mode in (("--compress=lz4",), ("--compress=lz4", "--threads", "2"),
                     ("--compress=auto", "--rtt", "150", "--downlink", "2")):
            with self.subTest(mode=mode):
                out = self.dir / "a.bfast"
                self.assertEqual(run("encode", *mode, "-o", out, j).returncode, EXIT_OK)
                self.assertEqual(self.oracles(j, out), [])
        self.assertEqual(Decode.layout_of(self, out), "lz4 parallel chunks")

    def sweep(self, *args):
        r = subprocess.run([ORACLE_PYTHON, ORACLES / "sweep_parallel.py", BFAST, *args],
                           capture_output=True, env=dict(os.environ, BFAST_SHARED_DIR=str(SHARED)),
                           timeout=600, check=False)
        self.assertEqual(r.returncode, 0, r.stdout.decode()[-2000:] + r.stderr.decode()[-2000:])
        return r.stdout.decode()

    def test_parallel_lz4_sweep_near_the_threshold(self):
        # 300 documents of 1.0-1.3 MB (records, runs of one byte, random text); more by hand:
        # tests/oracles/sweep_parallel.py BFAST --count 3000 --max-mb 8
        out = self.sweep("--count", "300")
        self.assertIn("300 documents, ", out)
        self.assertIn(", 0 failures", out)
        # Messages under 1,000,000 bytes (records shrink in B-FAST) are single blocks.
        self.assertGreater(int(out.split(", ")[1].split()[0]), 200, out)

    def test_parallel_lz4_user_records_up_to_8_mb(self):
        self.assertIn(", 0 failures", self.sweep("--count", "6", "--kinds", "records", "--seed", "2",
                                                 "--min-mb", "1", "--max-mb", "8"))


def self_decoded(message):
    r = run("decode", "-", input_bytes=message)
    if r.returncode != EXIT_OK:
        raise AssertionError(r.stderr)
    return json.loads(r.stdout)


if __name__ == "__main__":
    if not BFAST or not (SHARED / "conformance").is_dir():
        sys.exit("set BFAST_CLI and BFAST_SHARED (tests/cli/CMakeLists.txt does)")
    unittest.main(verbosity=1)
