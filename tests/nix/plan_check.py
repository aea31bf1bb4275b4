#!/usr/bin/env python3
"""Checks a `cellgen --print json` plan (stdin) against what an example
promises. Prints one line per failed expectation; exit 1 when any failed.

  plan_check.py [--worktree DIR] [--log-dir DIR] [--allow PATTERN]...
                [--filter FILE] [--filter-type T] [--nix-mode MODE]
"""
import argparse
import json
import sys


def pairs(args, flag):
    """Values following each occurrence of flag in an argv list."""
    return [args[i + 1] for i, a in enumerate(args[:-1]) if a == flag]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worktree")
    ap.add_argument("--log-dir")
    ap.add_argument("--allow", action="append", default=[])
    ap.add_argument("--filter")
    ap.add_argument("--filter-type")
    ap.add_argument("--nix-mode")
    want = ap.parse_args()
    plan = json.load(sys.stdin)
    bw = plan["bwrap"]["args"]
    daemons = {d["name"]: d for d in plan["daemons"]}
    errors = []

    if want.worktree:
        binds = [(bw[i + 1], bw[i + 2]) for i, a in enumerate(bw[:-2]) if a == "--bind"]
        if (want.worktree, "/home/cell/worktree") not in binds:
            errors.append(f"no --bind {want.worktree} /home/cell/worktree in {binds}")
        if pairs(bw, "--chdir")[-1:] != ["/home/cell/worktree"]:
            errors.append(f"does not start in the worktree: chdir {pairs(bw, '--chdir')}")
    if want.log_dir and plan["logs"]["dir"] != want.log_dir:
        errors.append(f"log dir {plan['logs']['dir']!r}, want {want.log_dir!r}")
    proxy = daemons.get("proxy", {}).get("argv", [])
    if not proxy:
        errors.append("no proxy daemon in the plan")
    if pairs(proxy, "--allow") != want.allow:
        errors.append(f"proxy --allow {pairs(proxy, '--allow')}, want {want.allow}")
    if want.filter and pairs(proxy, "--filter") != [want.filter]:
        errors.append(f"proxy --filter {pairs(proxy, '--filter')}, want {want.filter}")
    if want.filter_type and pairs(proxy, "--filter-type") != [want.filter_type]:
        errors.append(f"proxy --filter-type {pairs(proxy, '--filter-type')}, want {want.filter_type}")
    if want.nix_mode and daemons.get("nix", {}).get("mode") != want.nix_mode:
        errors.append(f"nix daemon mode {daemons.get('nix', {}).get('mode')!r}, want {want.nix_mode!r}")
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
