"""Every corpus document through nginx and the proxy: B-FAST bodies decode, in both deployed
decoders, to what a JSON parser makes of the document; everything else is byte-identical."""
import os
import unittest
from urllib.parse import quote

from harness import BFAST, CORPUS, curl, oracle_checks, start_nginx_and_proxy

CORE_TOKENS = {"invalid_json", "key_too_long", "too_many_keys", "too_deep", "lone_surrogate",
               "proto_key", "too_large"}


def setUpModule():
    global nginx, proxy
    nginx, proxy = start_nginx_and_proxy()


def tearDownModule():
    proxy.stop()
    nginx.stop()


def corpus_documents():
    for sub in ("realworld", "semantic", "jsontestsuite"):
        d = os.path.join(CORPUS, sub)
        for name in sorted(os.listdir(d)):
            if name.endswith(".json"):
                yield sub, name, os.path.join(d, name)


class CorpusTest(unittest.TestCase):
    def test_every_document(self):
        transcoded = passed_through = 0
        for sub, name, path in corpus_documents():
            with self.subTest(doc=f"{sub}/{name}"):
                original = open(path, "rb").read()
                r = curl(f"{proxy.url}/{sub}/{quote(name)}", *BFAST)
                self.assertEqual(r.status, 200)
                status = r.header("bfast-status")
                self.assertIsNotNone(status)
                self.assertIn("Accept", r.header("vary"))
                if status.startswith("transcoded"):
                    transcoded += 1
                    self.assertEqual(r.header("content-type"), "application/x-bfast")
                    self.assertEqual(int(r.header("content-length")), len(r.body))
                    self.assertIn(f"in={len(original)};", status)
                    self.assertIn(f"out={len(r.body)};", status)
                    self.assertEqual(oracle_checks(path, r.body), [])
                else:
                    passed_through += 1
                    token = status.split("reason=")[1]
                    self.assertIn(token, CORE_TOKENS)
                    self.assertEqual(r.body, original, "passthrough must be byte-identical")
                    self.assertEqual(r.header("content-type"), "application/json")
                    # Only documents a JSON parser rejects may be called invalid.
                    if name.startswith("y_"):
                        self.assertNotEqual(token, "invalid_json")
                    if name.startswith("n_"):
                        # Nesting is checked as the parser descends, so a deep invalid text
                        # may be refused as too deep first.
                        self.assertIn(token, ("invalid_json", "too_deep"))
        self.assertGreater(transcoded, 100)
        self.assertGreater(passed_through, 100)

    def test_plain_clients_get_identical_bytes(self):
        for sub, name, path in corpus_documents():
            if sub != "realworld":
                continue
            with self.subTest(doc=name):
                r = curl(f"{proxy.url}/{sub}/{name}")
                self.assertEqual(r.status, 200)
                self.assertEqual(r.body, open(path, "rb").read())
                self.assertEqual(r.header("bfast-status"), "passthrough; reason=not_acceptable")
                self.assertIn("Accept", r.header("vary"))


if __name__ == "__main__":
    unittest.main()
