"""`threads: 0` and `transform_threads: 0` follow the CPUs the process may use (its affinity
mask and cgroup quota), not the machine's core count; the start log says what and why."""
import os
import re
import shutil
import unittest

from harness import Proxy, curl

THREADS_LINE = re.compile(r"threads: (\d+) \(([^)]*)\), transform_threads: (\d+) \(([^)]*)\)")


def threads_line(proxy):
    for line in proxy.startup_lines:
        match = THREADS_LINE.search(line)
        if match:
            return match
    raise AssertionError(f"no threads line in {proxy.startup_lines!r}")


def running_threads(proxy):
    # The admin listener answers on the control thread, which runs only once every I/O thread
    # has been started.
    assert curl(proxy.admin_url + "/healthz").status == 200
    return len(os.listdir(f"/proc/{proxy.proc.pid}/task"))


class ThreadCountTest(unittest.TestCase):
    def start_proxy(self, *args, wrapper=()):
        # The demo API is the upstream: no flag but these sets a thread count.
        proxy = Proxy(None, "--demo", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
                      "--demo-listen", "127.0.0.1:0", "--access-log=false",
                      "--drain-delay-ms", "0", *args, wrapper=wrapper)
        self.addCleanup(proxy.stop)
        return proxy

    @unittest.skipUnless(shutil.which("taskset"), "needs taskset (util-linux)")
    def test_one_cpu_in_the_affinity_mask_means_one_thread_each(self):
        one_cpu = ("taskset", "-c", "0")
        chosen = self.start_proxy(wrapper=one_cpu)
        configured = self.start_proxy("--threads", "1", "--transform-threads", "1",
                                      wrapper=one_cpu)
        self.assertEqual(running_threads(chosen), running_threads(configured))
        match = threads_line(chosen)
        self.assertEqual((match.group(1), match.group(3)), ("1", "1"))
        self.assertIn("1 CPU in the affinity mask", match.group(2))

    def test_configured_counts_are_kept(self):
        match = threads_line(self.start_proxy("--threads", "3", "--transform-threads", "2"))
        self.assertEqual(match.groups(), ("3", "configured", "2", "configured"))


if __name__ == "__main__":
    unittest.main()
