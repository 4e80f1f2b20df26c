"""Checks the deployment files: docker/k8s/*.yaml, docker/compose.yaml and docker/Dockerfile.

Every port and timing is read from the proxy config held in each ConfigMap, and the rest of the
files must agree with it: container ports, probes, the Services, the image's EXPOSE, a
termination grace period long enough for the drain, and a memory limit that holds the transform
budget plus the rest of the proxy's memory (docker/k8s/README.md, "Memory limit"). The
manifests are judged by the rules of the oldest Kubernetes they claim to support.

usage: check_manifests.py REPO_ROOT [--proxy-binary PATH]
With --proxy-binary, each ConfigMap's config must also pass `bfast-proxy --check-config`.
"""
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import unittest

import yaml

REPO = None
PROXY_BINARY = None

# The proxy config keys the manifests rely on (config/src/config.cpp); the defaults of the two
# drain timings are read from config/include/bfast/config/config.hpp.
LISTEN_KEY = "listen"
ADMIN_LISTEN_KEY = "admin_listen"
UPSTREAM_KEY = "upstream"
DRAIN_DELAY_KEY = "drain_delay_ms"
SHUTDOWN_TIMEOUT_KEY = "shutdown_timeout_ms"
CONFIG_HEADER = os.path.join("config", "include", "bfast", "config", "config.hpp")
# Past the drain's own bound: the kill signal's delivery, the runtime's bookkeeping.
GRACE_MARGIN_S = 5

# The oldest Kubernetes the files claim ("Kubernetes 1.30 or later", "Kubernetes 1.30+"), and
# the release each feature the manifests use is on by default from.
KUBERNETES_CLAIM = re.compile(r"Kubernetes (1\.\d+)(?:\+| or later)")
CLAIM_FILES = [("docker", "k8s", "sidecar.yaml"), ("docker", "k8s", "README.md"), ("README.md",)]
NATIVE_SIDECARS = (1, 29)
PRE_STOP_SLEEP = (1, 30)
# From 1.32, a Service's named targetPort also resolves against init containers (sidecars).
INIT_CONTAINER_NAMED_PORTS = (1, 32)
METRICS_PATH = "/metrics"

# Memory terms of docker/k8s/README.md ("Memory limit"); defaults from config.hpp.
KiB = 1 << 10
MiB = 1 << 20
BUDGET_KEY = "transform_memory_budget_bytes"
MAX_CONNECTIONS_KEY = "max_connections"
MAX_HEADER_KEY = "max_header_bytes"
ACCESS_LOG_BUFFER_KEY = "access_log_buffer_bytes"
TRANSFORM_THREADS_KEY = "transform_threads"
DEFAULTS = {BUDGET_KEY: 1024 * MiB, MAX_CONNECTIONS_KEY: 10_000, MAX_HEADER_KEY: 60 * KiB,
            ACCESS_LOG_BUFFER_KEY: 1 * MiB}
PROCESS_AT_REST = 12 * MiB        # RSS measured 9.2 MiB after start, 10.9 MiB warmed (measure_rss.py)
PER_TRANSFORM_THREAD = 10 * MiB   # two kept 4 MiB scratch buffers, zstd and deflate contexts
RELAY_BUFFER = 64 * KiB
UPSTREAM_READ_MIN = 64 * KiB
READ_SLACK = 16 * KiB             # past max_header_bytes, on both read buffers
SESSION_STATE = 8 * KiB           # socket and session, measured about 6.5 KB idle
MARGIN_FRACTION = 8               # at least 1/8 of the sum, for allocator slack

QUANTITY = re.compile(r"^(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
QUANTITY_UNITS = {None: 1, "Ki": KiB, "Mi": MiB, "Gi": 1 << 30, "Ti": 1 << 40,
                  "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}

PROXY_IMAGE = re.compile(r"(^|/)bfast-proxy(:|@|$)")
CONFIG_FILE_NAME = "proxy.json"


def load_yaml_documents(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def port_of(address):
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"not HOST:PORT: {address!r}")
    return int(port)


def quantity_bytes(text):
    match = QUANTITY.match(str(text))
    if not match:
        raise ValueError(f"not a memory quantity: {text!r}")
    return int(match.group(1)) * QUANTITY_UNITS[match.group(2)]


def memory_need(setting):
    """The memory limit the README's table asks for, from setting(key) -> effective value."""
    header = setting(MAX_HEADER_KEY)
    client_read = header + READ_SLACK
    upstream_read = max(UPSTREAM_READ_MIN, header) + READ_SLACK
    per_connection = SESSION_STATE + RELAY_BUFFER + client_read + upstream_read
    threads = setting(TRANSFORM_THREADS_KEY)
    base = PROCESS_AT_REST + setting(ACCESS_LOG_BUFFER_KEY) + threads * PER_TRANSFORM_THREAD
    total = setting(BUDGET_KEY) + base + setting(MAX_CONNECTIONS_KEY) * per_connection
    return total + total // MARGIN_FRACTION


def default_millis(key):
    """A setting's default, from `std::uint32_t key = 5'000;` in config.hpp."""
    with open(os.path.join(REPO, CONFIG_HEADER), encoding="utf-8") as f:
        match = re.search(rf"\b{key}\s*=\s*([\d']+);", f.read())
    if not match:
        raise ValueError(f"no default for {key} in {CONFIG_HEADER}")
    return int(match.group(1).replace("'", ""))


def millis_to_seconds(config, key):
    return (config[key] if key in config else default_millis(key)) / 1000.0


def version_tuple(text):
    return tuple(int(part) for part in text.split("."))


def minimum_kubernetes():
    """The version every file claims; an AssertionError when they disagree or none does."""
    claims = {}
    for parts in CLAIM_FILES:
        with open(os.path.join(REPO, *parts), encoding="utf-8") as f:
            for found in KUBERNETES_CLAIM.findall(f.read()):
                claims.setdefault(found, []).append(os.path.join(*parts))
    if len(claims) != 1:
        raise AssertionError(f"one minimum Kubernetes version expected, found {claims}")
    (version, files), = claims.items()
    missing = {os.path.join(*parts) for parts in CLAIM_FILES} - set(files)
    if missing:
        raise AssertionError(f"no Kubernetes {version} claim in {sorted(missing)}")
    return version_tuple(version)


def labels_match(selector, labels):
    return bool(selector) and selector.items() <= labels.items()


class ProxyConfig:
    def __init__(self, text, need_upstream=True):
        self.raw = json.loads(text)
        self.listen_port = port_of(self.raw[LISTEN_KEY])
        self.admin_port = port_of(self.raw[ADMIN_LISTEN_KEY])
        self.upstream = self.raw[UPSTREAM_KEY] if need_upstream else self.raw.get(UPSTREAM_KEY)
        self.drain_delay_s = millis_to_seconds(self.raw, DRAIN_DELAY_KEY)
        self.shutdown_timeout_s = millis_to_seconds(self.raw, SHUTDOWN_TIMEOUT_KEY)

    def listen_host_is_loopback(self):
        host = self.raw[LISTEN_KEY].rpartition(":")[0].strip("[]")
        return host in ("127.0.0.1", "localhost", "::1")


def dockerfile_runtime():
    """EXPOSE ports, USER, ENTRYPOINT and RUN lines of the Dockerfile's last stage."""
    with open(os.path.join(REPO, "docker", "Dockerfile"), encoding="utf-8") as f:
        text = f.read().replace("\\\n", " ")
    stages = re.split(r"(?im)^FROM\s", text)
    last = stages[-1]
    info = {"expose": set(), "user": None, "entrypoint": None, "run": [], "env": {},
            "copy": {}, "stages": stages}
    for line in last.splitlines():
        word, _, rest = line.strip().partition(" ")
        word = word.upper()
        if word == "EXPOSE":
            info["expose"] |= {int(p.split("/")[0]) for p in rest.split()}
        elif word == "USER":
            info["user"] = rest.strip()
        elif word == "ENTRYPOINT":
            info["entrypoint"] = json.loads(rest)
        elif word == "COPY" and not rest.startswith("--from"):
            *sources, dest = rest.split()
            for source in sources:
                info["copy"][dest] = source
        elif word == "RUN":
            info["run"].append(rest)
        elif word == "ENV":
            for item in shlex.split(rest):
                key, _, value = item.partition("=")
                info["env"][key] = value
    return info


class ManifestChecks:
    """Shared checks for one manifest file holding a ConfigMap, a Deployment and a Service."""

    manifest = None
    sidecar = None

    @classmethod
    def setUpClass(cls):
        docs = load_yaml_documents(os.path.join(REPO, "docker", "k8s", cls.manifest))
        by_kind = {}
        for d in docs:
            by_kind.setdefault(d["kind"], []).append(d)
        cls.by_kind = by_kind
        cls.configmap = by_kind["ConfigMap"][0]
        cls.deployment = by_kind["Deployment"][0]
        cls.service = by_kind["Service"][0]
        cls.config = ProxyConfig(cls.configmap["data"][CONFIG_FILE_NAME])
        cls.pod = cls.deployment["spec"]["template"]["spec"]
        proxies = [(c, "initContainers") for c in cls.pod.get("initContainers", [])
                   if PROXY_IMAGE.search(c["image"])]
        proxies += [(c, "containers") for c in cls.pod.get("containers", [])
                    if PROXY_IMAGE.search(c["image"])]
        assert len(proxies) == 1, f"{cls.manifest}: expected one bfast-proxy container"
        cls.proxy, cls.proxy_list = proxies[0]

    def all_containers(self):
        return self.pod.get("initContainers", []) + self.pod["containers"]

    def resolve_port(self, container, port):
        if isinstance(port, int):
            return port
        named = {p["name"]: p["containerPort"] for p in container.get("ports", [])
                 if "name" in p}
        self.assertIn(port, named, f"named port {port!r} not declared")
        return named[port]

    def resolve_service_port(self, target_port):
        """The container port a Service's targetPort reaches in this pod, by the rules of the
        oldest supported Kubernetes: before 1.32 a name resolves against regular containers
        only, so a port named only on a native sidecar gets the Service no traffic."""
        if isinstance(target_port, int):
            return target_port
        searched = list(self.pod["containers"])
        if minimum_kubernetes() >= INIT_CONTAINER_NAMED_PORTS:
            searched += self.pod.get("initContainers", [])
        for container in searched:
            for port in container.get("ports", []):
                if port.get("name") == target_port:
                    return port["containerPort"]
        self.fail(f"targetPort {target_port!r} names no port of a container it resolves "
                  f"against on Kubernetes {'.'.join(map(str, minimum_kubernetes()))}")

    def effective_security(self, container, key):
        own = container.get("securityContext", {})
        if key in own:
            return own[key]
        return self.pod.get("securityContext", {}).get(key)

    def test_sidecar_shape(self):
        if self.sidecar:
            self.assertEqual(self.proxy_list, "initContainers",
                             "a native sidecar is an init container")
            self.assertEqual(self.proxy.get("restartPolicy"), "Always")
            self.assertTrue(self.pod["containers"], "the sidecar needs an app container")
            upstream_host = re.match(r"https?://([^:/]+)", self.config.upstream).group(1)
            self.assertIn(upstream_host, ("127.0.0.1", "localhost", "::1"),
                          "a sidecar proxies to its own pod")
        else:
            self.assertEqual(self.proxy_list, "containers")
            self.assertNotIn("restartPolicy", self.proxy)

    def test_config_is_mounted_and_used(self):
        volumes = {v["name"]: v for v in self.pod.get("volumes", [])}
        mounts = [m for m in self.proxy.get("volumeMounts", [])
                  if volumes.get(m["name"], {}).get("configMap", {}).get("name")
                  == self.configmap["metadata"]["name"]]
        self.assertEqual(len(mounts), 1, "the ConfigMap is mounted into the proxy")
        self.assertTrue(mounts[0].get("readOnly"))
        args = self.proxy.get("args", [])
        self.assertIn("--config", args)
        path = args[args.index("--config") + 1]
        self.assertEqual(path, mounts[0]["mountPath"].rstrip("/") + "/" + CONFIG_FILE_NAME)

    def test_container_ports_match_config(self):
        ports = {p["containerPort"] for p in self.proxy["ports"]}
        self.assertEqual(ports, {self.config.listen_port, self.config.admin_port})

    def test_probes_on_admin_port(self):
        expected = {"livenessProbe": "/healthz", "readinessProbe": "/readyz",
                    "startupProbe": "/healthz"}
        for probe in ("livenessProbe", "readinessProbe"):
            self.assertIn(probe, self.proxy)
        for probe, path in expected.items():
            if probe not in self.proxy:
                continue
            with self.subTest(probe=probe):
                get = self.proxy[probe]["httpGet"]
                self.assertEqual(get["path"], path)
                self.assertEqual(self.resolve_port(self.proxy, get["port"]),
                                 self.config.admin_port)

    def test_service_targets_proxy_port(self):
        selector = self.service["spec"]["selector"]
        labels = self.deployment["spec"]["template"]["metadata"]["labels"]
        self.assertLessEqual(selector.items(), labels.items(), "Service selects the pods")
        deployment_selector = self.deployment["spec"]["selector"]["matchLabels"]
        self.assertLessEqual(deployment_selector.items(), labels.items())
        for port in self.service["spec"]["ports"]:
            with self.subTest(port=port.get("name")):
                self.assertEqual(self.resolve_service_port(port["targetPort"]),
                                 self.config.listen_port)

    def test_minimum_kubernetes_has_the_features_used(self):
        needed = (0, 0)
        if self.proxy_list == "initContainers" and self.proxy.get("restartPolicy") == "Always":
            needed = max(needed, NATIVE_SIDECARS)
        if any("sleep" in c.get("lifecycle", {}).get("preStop", {})
               for c in self.all_containers()):
            needed = max(needed, PRE_STOP_SLEEP)
        self.assertGreaterEqual(minimum_kubernetes(), needed)

    def test_every_container_has_a_readiness_probe(self):
        for c in self.pod["containers"] + [self.proxy]:
            with self.subTest(container=c["name"]):
                self.assertIn("readinessProbe", c)
                probe = c["readinessProbe"]
                reach = probe.get("httpGet") or probe.get("tcpSocket")
                if reach is None:
                    continue
                port = self.resolve_port(c, reach["port"])
                if reach.get("host"):
                    continue
                # The kubelet probes the pod's IP: a listener on loopback never answers.
                for env in c.get("env", []):
                    value = str(env.get("value", ""))
                    host, _, env_port = value.rpartition(":")
                    if env_port == str(port):
                        self.assertNotIn(host.strip("[]"), ("127.0.0.1", "localhost", "::1"),
                                         f"{env['name']}={value} is out of the probe's reach")

    def test_disruption_budget(self):
        budgets = self.by_kind.get("PodDisruptionBudget", [])
        self.assertEqual(len(budgets), 1, "one PodDisruptionBudget")
        spec = budgets[0]["spec"]
        labels = self.deployment["spec"]["template"]["metadata"]["labels"]
        self.assertTrue(labels_match(spec["selector"]["matchLabels"], labels))
        replicas = self.deployment["spec"].get("replicas", 1)
        # It must let a drain evict a pod at all, and keep the others serving meanwhile.
        if "maxUnavailable" in spec:
            self.assertGreaterEqual(spec["maxUnavailable"], 1)
            self.assertLess(spec["maxUnavailable"], replicas)
        else:
            self.assertLess(spec["minAvailable"], replicas)
            self.assertGreaterEqual(spec["minAvailable"], 1)

    def test_scrape_annotations(self):
        annotations = self.deployment["spec"]["template"]["metadata"].get("annotations", {})
        self.assertEqual(annotations.get("prometheus.io/scrape"), "true")
        self.assertEqual(int(annotations["prometheus.io/port"]), self.config.admin_port)
        self.assertEqual(annotations.get("prometheus.io/path"), METRICS_PATH)

    def test_security_context(self):
        for c in self.all_containers():
            with self.subTest(container=c["name"]):
                self.assertIs(self.effective_security(c, "runAsNonRoot"), True)
                uid = self.effective_security(c, "runAsUser")
                self.assertTrue(uid is None or uid > 0)
                sc = c.get("securityContext", {})
                self.assertIs(sc.get("readOnlyRootFilesystem"), True)
                self.assertIs(sc.get("allowPrivilegeEscalation"), False)
                self.assertIn("ALL", sc.get("capabilities", {}).get("drop", []))
                self.assertFalse(sc.get("capabilities", {}).get("add"))
                self.assertFalse(sc.get("privileged", False))

    def test_resources(self):
        for c in self.all_containers():
            with self.subTest(container=c["name"]):
                res = c.get("resources", {})
                self.assertIn("cpu", res.get("requests", {}))
                self.assertIn("memory", res.get("requests", {}))
                self.assertIn("memory", res.get("limits", {}))

    def explicit_setting(self, key):
        """The proxy's value for key from its flags, env or ConfigMap, or None when unset."""
        # Flags beat the environment, which beats the file (config.cpp).
        flag = "--" + key.replace("_", "-")
        args = self.proxy.get("args", [])
        if flag in args:
            return int(args[args.index(flag) + 1])
        env = {e["name"]: e.get("value") for e in self.proxy.get("env", [])}
        if "BFAST_PROXY_" + key.upper() in env:
            return int(env["BFAST_PROXY_" + key.upper()])
        if key in self.config.raw:
            return int(self.config.raw[key])
        return None

    def proxy_setting(self, key):
        value = self.explicit_setting(key)
        return DEFAULTS[key] if value is None else value

    def test_memory_limit_covers_budget(self):
        # The limit is derived from these, so none is left to a default (the thread count's is
        # one per core, which the limit cannot know).
        for key in (BUDGET_KEY, MAX_CONNECTIONS_KEY, TRANSFORM_THREADS_KEY):
            self.assertIsNotNone(self.explicit_setting(key), f"{key} set for the proxy")
        self.assertGreater(self.proxy_setting(TRANSFORM_THREADS_KEY), 0)
        limit = quantity_bytes(self.proxy["resources"]["limits"]["memory"])
        base = PROCESS_AT_REST + self.proxy_setting(TRANSFORM_THREADS_KEY) * PER_TRANSFORM_THREAD
        self.assertGreater(limit, self.proxy_setting(BUDGET_KEY) + base,
                           "the limit must exceed the budget plus the process at rest")
        need = memory_need(self.proxy_setting)
        self.assertGreaterEqual(limit, need, f"limit {limit / MiB:.0f} MiB, needs "
                                f"{need / MiB:.0f} MiB (docker/k8s/README.md, Memory limit)")

    def test_grace_period_covers_drain(self):
        # Native sidecars are stopped after the app containers, so the app's preStop pause
        # comes before the proxy's drain in the same grace period.
        pre_stop = 0
        if self.sidecar:
            for c in self.pod["containers"]:
                sleep = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {})
                pre_stop = max(pre_stop, sleep.get("seconds", 0))
        needed = (pre_stop + self.config.drain_delay_s + self.config.shutdown_timeout_s +
                  GRACE_MARGIN_S)
        self.assertGreaterEqual(self.pod["terminationGracePeriodSeconds"], needed)
        self.assertGreater(self.config.drain_delay_s, 0)

    def test_image_agrees(self):
        image = dockerfile_runtime()
        self.assertEqual({self.config.listen_port, self.config.admin_port}, image["expose"])

    def test_config_accepted_by_proxy(self):
        if not PROXY_BINARY:
            self.skipTest("no --proxy-binary")
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            f.write(self.configmap["data"][CONFIG_FILE_NAME])
            f.flush()
            run = subprocess.run([PROXY_BINARY, "--check-config", "--config", f.name],
                                 capture_output=True, text=True, timeout=60)
        host = self.config.upstream.split("://", 1)[1].rpartition(":")[0]
        if run.returncode != 0 and host.endswith(".svc.cluster.local"):
            # --check-config resolves the upstream, and a Service's name resolves only inside
            # its cluster: that is the one error allowed here.
            errors = [line for line in run.stderr.splitlines() if "config error:" in line]
            self.assertEqual(len(errors), 1, run.stderr)
            self.assertIn(f'config error: upstream: cannot resolve "{host}"', errors[0])
            return
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)


class SidecarManifest(ManifestChecks, unittest.TestCase):
    manifest = "sidecar.yaml"
    sidecar = True


class StandaloneManifest(ManifestChecks, unittest.TestCase):
    manifest = "standalone.yaml"
    sidecar = False


class OptionalServiceMonitor(unittest.TestCase):
    """docker/k8s/servicemonitor.yaml: a metrics Service per manifest, on the admin port, and a
    ServiceMonitor that selects them."""

    def setUp(self):
        docs = load_yaml_documents(os.path.join(REPO, "docker", "k8s", "servicemonitor.yaml"))
        self.services = [d for d in docs if d["kind"] == "Service"]
        self.monitors = [d for d in docs if d["kind"] == "ServiceMonitor"]
        self.assertEqual(len(self.monitors), 1)

    def test_each_manifest_has_a_metrics_service_on_its_admin_port(self):
        for manifest in (SidecarManifest, StandaloneManifest):
            with self.subTest(manifest=manifest.manifest):
                checks = manifest()
                manifest.setUpClass()
                labels = checks.deployment["spec"]["template"]["metadata"]["labels"]
                selecting = [svc for svc in self.services
                             if labels_match(svc["spec"]["selector"], labels)]
                self.assertEqual(len(selecting), 1, "one metrics Service selects the pods")
                for port in selecting[0]["spec"]["ports"]:
                    self.assertEqual(checks.resolve_service_port(port["targetPort"]),
                                     checks.config.admin_port)

    def test_monitor_selects_the_metrics_services(self):
        spec = self.monitors[0]["spec"]
        for svc in self.services:
            with self.subTest(service=svc["metadata"]["name"]):
                self.assertTrue(labels_match(spec["selector"]["matchLabels"],
                                             svc["metadata"]["labels"]))
                names = {p["name"] for p in svc["spec"]["ports"]}
                for endpoint in spec["endpoints"]:
                    self.assertIn(endpoint["port"], names)
                    self.assertEqual(endpoint.get("path", METRICS_PATH), METRICS_PATH)


class ImageAndCompose(unittest.TestCase):
    def setUp(self):
        self.image = dockerfile_runtime()

    def test_dockerfile_runtime_stage(self):
        self.assertRegex(self.image["user"] or "", r"^[1-9][0-9]*(:[0-9]+)?$",
                         "numeric non-root USER, so runAsNonRoot can be enforced")
        self.assertTrue(self.image["entrypoint"][0].endswith("/bfast-proxy"))
        self.assertTrue(any("install-deps.sh runtime" in r for r in self.image["run"]))
        build_stages = "".join(self.image["stages"][1:-1])
        self.assertIn("install-deps.sh build", build_stages)
        self.assertTrue(self.image["stages"][-1].lstrip().startswith("debian:bookworm"))
        # The image's default config, named by BFAST_PROXY_CONFIG, listens on the exposed ports.
        self.assertFalse([k for k in self.image["env"] if k.endswith("LISTEN")],
                         "a LISTEN variable would beat every mounted config file")
        config_path = self.image["env"]["BFAST_PROXY_CONFIG"]
        source = self.image["copy"][config_path]
        with open(os.path.join(REPO, source), encoding="utf-8") as f:
            default = ProxyConfig(f.read(), need_upstream=False)
        self.assertEqual({default.listen_port, default.admin_port}, self.image["expose"])
        self.assertFalse(default.listen_host_is_loopback(), "unreachable from outside")

    def test_image_config_accepted_by_proxy(self):
        if not PROXY_BINARY:
            self.skipTest("no --proxy-binary")
        source = self.image["copy"][self.image["env"]["BFAST_PROXY_CONFIG"]]
        run = subprocess.run([PROXY_BINARY, "--check-config", "--demo", "--config",
                              os.path.join(REPO, source)],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)

    def test_compose(self):
        with open(os.path.join(REPO, "docker", "compose.yaml"), encoding="utf-8") as f:
            compose = yaml.safe_load(f)
        proxy = compose["services"]["proxy"]
        build = proxy["build"]
        compose_dir = os.path.join(REPO, "docker")
        context = os.path.normpath(os.path.join(compose_dir, build["context"]))
        self.assertEqual(context, os.path.normpath(REPO))
        self.assertTrue(os.path.isfile(os.path.join(context, build["dockerfile"])))
        command = proxy["command"]
        self.assertIn("--demo", command)
        listen = port_of(command[command.index("--listen") + 1])
        admin = port_of(command[command.index("--admin-listen") + 1])
        self.assertEqual({listen, admin}, self.image["expose"])
        published = {int(p.rsplit(":", 1)[1]) for p in proxy["ports"]}
        self.assertEqual(published, {listen, admin})
        self.assertIs(proxy["read_only"], True)
        self.assertIn("ALL", proxy["cap_drop"])
        self.assertRegex(str(proxy["user"]), r"^[1-9][0-9]*(:[0-9]+)?$")
        grace = re.fullmatch(r"(\d+)s", proxy["stop_grace_period"])
        self.assertIsNotNone(grace)
        # Compose's proxy runs the image's config, then its environment, then its flags.
        image_config_path = self.image["copy"][self.image["env"]["BFAST_PROXY_CONFIG"]]
        with open(os.path.join(REPO, image_config_path), encoding="utf-8") as f:
            config = json.load(f)
        environment = proxy.get("environment", {})
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) for item in environment)
        for key in (DRAIN_DELAY_KEY, SHUTDOWN_TIMEOUT_KEY):
            if "BFAST_PROXY_" + key.upper() in environment:
                config[key] = int(environment["BFAST_PROXY_" + key.upper()])
            flag = "--" + key.replace("_", "-")
            if flag in command:
                config[key] = int(command[command.index(flag) + 1])
        drain = (millis_to_seconds(config, DRAIN_DELAY_KEY) +
                 millis_to_seconds(config, SHUTDOWN_TIMEOUT_KEY))
        self.assertGreaterEqual(int(grace.group(1)), drain + GRACE_MARGIN_S)


def main():
    global REPO, PROXY_BINARY
    args = sys.argv[1:]
    if "--proxy-binary" in args:
        i = args.index("--proxy-binary")
        PROXY_BINARY = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1:
        sys.exit(__doc__)
    REPO = os.path.abspath(args[0])
    unittest.main(argv=[sys.argv[0], "-v"])


if __name__ == "__main__":
    main()
