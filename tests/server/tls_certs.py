"""Certificates for the TLS tests, made with the openssl command-line tool (3.0) in a temp dir:
a test CA and, signed by it, server certificates for localhost (two, for reload), an expired
one, one for another host and a client certificate; plus a self-signed one for localhost.
`openssl ca` signs them all, since in 3.0 it is the tool that takes an explicit validity
window (-startdate/-enddate), which the expired certificate needs."""
import os
import shutil
import subprocess
import tempfile

LOCALHOST_SAN = "DNS:localhost,IP:127.0.0.1"

CA_CONFIG = """
[ca]
default_ca = test_ca
[test_ca]
dir = {dir}
database = {dir}/index.txt
serial = {dir}/serial
new_certs_dir = {dir}/issued
certificate = {dir}/ca.pem
private_key = {dir}/ca.key
default_md = sha256
default_days = 30
policy = any_name
unique_subject = no
copy_extensions = none
[any_name]
commonName = supplied
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
"""

SERVER_EXT = """basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = {san}
"""

CLIENT_EXT = """basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
"""


def openssl(*args, cwd=None, input=None):
    p = subprocess.run(["openssl", *args], capture_output=True, text=True, cwd=cwd, input=input)
    if p.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {p.stderr.strip()}")
    return p.stdout


class Pair:
    """A certificate and its key, as PEM files; `chain` is the certificate followed by the CA
    (what a server presents), `cn` and `serial` (upper-case hex) identify it."""

    def __init__(self, cert, key, chain, cn, serial):
        self.cert, self.key, self.chain, self.cn, self.serial = cert, key, chain, cn, serial


class Certificates:
    """Makes every certificate at once in a fresh temp dir; cleanup() removes it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="bfast-tls-")
        for d in ("issued", "work"):
            os.makedirs(os.path.join(self.dir, d))
        open(os.path.join(self.dir, "index.txt"), "w").close()
        with open(os.path.join(self.dir, "serial"), "w") as f:
            f.write("1000\n")
        self.config = os.path.join(self.dir, "ca.cnf")
        with open(self.config, "w") as f:
            f.write(CA_CONFIG.format(dir=self.dir))
        self.ca = self._make_ca()
        self.server = self._issue("server", "localhost", SERVER_EXT.format(san=LOCALHOST_SAN))
        self.server2 = self._issue("server2", "localhost second",
                                   SERVER_EXT.format(san=LOCALHOST_SAN))
        self.expired = self._issue("expired", "localhost expired",
                                   SERVER_EXT.format(san=LOCALHOST_SAN),
                                   window=("20200101000000Z", "20200201000000Z"))
        self.wrong_host = self._issue("wrong_host", "other.example",
                                      SERVER_EXT.format(san="DNS:other.example"))
        self.client = self._issue("client", "bfast-proxy client", CLIENT_EXT)
        self.self_signed = self._self_signed("self_signed", "localhost self-signed")

    def path(self, name):
        return os.path.join(self.dir, name)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def _key_and_request(self, name, cn):
        key, csr = self.path(f"{name}.key"), self.path(f"work/{name}.csr")
        # RSA: a server whose key is RSA can also speak the RSA key exchange (AES128-SHA), so a
        # refused legacy cipher is refused by the cipher list, not by the key type.
        openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                "-subj", f"/CN={cn}", "-config", self.config)
        return key, csr

    def _make_ca(self):
        key, csr = self._key_and_request("ca", "bfast test CA")
        cert = self.path("ca.pem")
        openssl("ca", "-batch", "-notext", "-config", self.config, "-selfsign", "-keyfile", key,
                "-in", csr, "-out", cert, "-extensions", "ca_ext", "-days", "30")
        return Pair(cert, key, cert, "bfast test CA", self._serial(cert))

    def _issue(self, name, cn, extensions, window=None):
        key, csr = self._key_and_request(name, cn)
        ext = self.path(f"work/{name}.ext")
        with open(ext, "w") as f:
            f.write(extensions)
        cert = self.path(f"{name}.pem")
        validity = ["-startdate", window[0], "-enddate", window[1]] if window else ["-days", "30"]
        openssl("ca", "-batch", "-notext", "-config", self.config, "-in", csr, "-out", cert,
                "-extfile", ext, *validity)
        chain = self.path(f"{name}.chain.pem")
        with open(chain, "w") as out:
            for part in (cert, self.ca.cert):
                with open(part) as f:
                    out.write(f.read())
        return Pair(cert, key, chain, cn, self._serial(cert))

    def _self_signed(self, name, cn):
        key, cert = self.path(f"{name}.key"), self.path(f"{name}.pem")
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                "-subj", f"/CN={cn}", "-days", "30", "-addext", f"subjectAltName={LOCALHOST_SAN}",
                "-addext", "extendedKeyUsage=serverAuth")
        return Pair(cert, key, cert, cn, self._serial(cert))

    def _serial(self, cert):
        return openssl("x509", "-in", cert, "-noout", "-serial").strip().split("=", 1)[1].upper()


def serial_of_pem(pem_text):
    """The serial (upper-case hex) of the first certificate in PEM text."""
    return openssl("x509", "-noout", "-serial", input=pem_text).strip().split("=", 1)[1].upper()
