"""Run ``python -m swandoc ARGS`` and, on the way out, report this process's own peak RSS.

Used by ``fuzzkit.run_subprocess``: a child's ``ru_maxrss`` also counts the memory of the process that
forked it (Linux keeps the old high-water mark across exec), so a big fuzz harness would inflate every
figure. ``VmHWM`` of /proc/self/status is this process's own, from its exec on. The figure goes to the
file descriptor named by SWANDOC_FUZZ_RSS_FD; the address space is capped (SWANDOC_FUZZ_AS bytes) so a
runaway case fails with MemoryError instead of taking the machine down.
"""
import atexit
import os
import resource
import runpy
import sys


def _report() -> None:
    fd = int(os.environ["SWANDOC_FUZZ_RSS_FD"])
    with open("/proc/self/status") as status:
        peak = next((line.split()[1] for line in status if line.startswith("VmHWM:")), "0")
    os.write(fd, peak.encode())


if __name__ == "__main__":
    cap = int(os.environ.get("SWANDOC_FUZZ_AS", "0"))
    if cap:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    atexit.register(_report)
    sys.argv = ["swandoc"] + sys.argv[1:]
    runpy.run_module("swandoc", run_name="__main__", alter_sys=True)
