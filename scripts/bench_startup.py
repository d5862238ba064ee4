#!/usr/bin/env python3
"""Measure `hyok-lab up`: time from process start to lab.json (ready), and idle resident memory.

Usage: scripts/bench_startup.py [path/to/hyok-lab] [runs]
Prints one line per run and a summary. Uses free ports (--port-base 0) and a temporary lab dir;
every lab it starts is stopped with `hyok-lab down`.
"""
import json, os, statistics, subprocess, sys, tempfile, time

binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/hyok-lab"
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 10

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

ready_ms, rss = [], []
for i in range(runs):
    with tempfile.TemporaryDirectory() as d:
        lab_dir = os.path.join(d, "lab")
        t0 = time.perf_counter()
        p = subprocess.Popen([binary, "up", "--port-base", "0", "--lab-dir", lab_dir],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        path = os.path.join(lab_dir, "lab.json")
        while not os.path.exists(path):
            if p.poll() is not None:
                sys.exit(f"hyok-lab up exited early with {p.returncode}")
            if time.perf_counter() - t0 > 20:
                p.kill(); sys.exit("lab not ready in 20 s")
            time.sleep(0.001)
        ready = (time.perf_counter() - t0) * 1000
        time.sleep(1.0)  # idle
        mem = rss_kib(p.pid) / 1024
        services = len(json.load(open(path))["services"])
        subprocess.run([binary, "down", "--lab-dir", lab_dir], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        p.wait(timeout=10)
        ready_ms.append(ready); rss.append(mem)
        print(f"run {i+1}: ready in {ready:7.1f} ms, idle RSS {mem:6.1f} MiB, {services} services")

print(f"ready: median {statistics.median(ready_ms):.1f} ms, max {max(ready_ms):.1f} ms (target < 500 ms)")
print(f"idle RSS: median {statistics.median(rss):.1f} MiB, max {max(rss):.1f} MiB (target < 50 MiB)")
