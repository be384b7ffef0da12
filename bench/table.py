"""Run every benchmark (what `make bench` does) and print one table: figure, baseline, this, ratio.

    .venv/bin/python bench/table.py [--quick]

Each benchmark runs as its own process with its usual defaults (--quick shortens the loads), its
full output is kept under var/bench/, and its figures are read back from it; a benchmark's `aim:`
lines (bench/gateway.py: the issue's targets, met or not) follow the table. Exits non-zero if a
benchmark failed or its own check did (errors under load, a limit exceeded, queries growing); an
aim not met is reported, not failed.
"""

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "bench"


def _api(text: str) -> list[tuple]:
    rows = []
    for label, base, this, ratio in re.findall(
        r"^(\S.*?)\s{2,}([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$", text, re.M
    ):
        rows.append((f"api: {label}", float(base), float(this), float(ratio)))
    return rows


def _rows(text: str) -> list[tuple]:
    return [
        (label, float(base), float(this), float(ratio))
        for label, base, this, ratio in re.findall(
            r"^row: (.*?) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+)$", text, re.M
        )
    ]


def _token_check(text: str) -> list[tuple]:
    found = re.findall(r"^(.+?)\s+([\d.]+) µs/call\s+([\d.]+)x$", text, re.M)
    if not found:
        return []
    baseline = float(found[0][1])
    return [
        (f"token_check: {label} (µs/call)", baseline, float(value), float(ratio))
        for label, value, ratio in found[1:]
    ]


def _purge(text: str) -> list[tuple]:
    runs = re.findall(
        r"^(\w+)\s+([\d,]+) rows\s+([\d.]+) s\s+([\d,]+) rows/s\s+peak RSS\s+([\d.]+) MB", text, re.M
    )
    by = [
        (mode, int(rows.replace(",", "")), float(rps.replace(",", "")), float(rss))
        for mode, rows, _, rps, rss in runs
    ]
    queryset = next((r for r in by if r[0] == "queryset"), None)
    purges = [r for r in by if r[0] == "purge"]
    if not queryset or not purges:
        return []
    rows = []
    for _, count, rps, rss in purges:
        rows.append(
            (
                f"purge_revoked: rows/s at {count:,} (baseline queryset .delete() at {queryset[1]:,})",
                queryset[2],
                rps,
                rps / queryset[2],
            )
        )
        rows.append((f"purge_revoked: peak RSS MB at {count:,}", queryset[3], rss, rss / queryset[3]))
    return rows


def benches(quick: bool) -> list[tuple[str, list[str], object]]:
    seconds = ["--seconds", "3", "--rounds", "1"] if quick else []
    return [
        ("api", ["bench/api.py", *seconds], _api),
        (
            "api_load",
            ["bench/api_load.py", *(["--seconds", "10", "--revoked", "20000"] if quick else [])],
            _rows,
        ),
        ("console", ["bench/console.py", *(["--events", "20000"] if quick else [])], _rows),
        ("purge_revoked", ["bench/purge_revoked.py", *(["--rows", "20000"] if quick else [])], _purge),
        ("token_check", ["bench/token_check.py", *(["--calls", "500"] if quick else [])], _token_check),
        ("inventory", ["bench/inventory.py", *(["--credentials", "20000"] if quick else [])], _rows),
        ("gateway", ["bench/gateway.py", *(["--seconds", "3", "--rounds", "1"] if quick else [])], _rows),
        ("webhooks", ["bench/webhooks.py", *(["--quick"] if quick else [])], _rows),
        ("usage", ["bench/usage.py", *seconds], _rows),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="shorter loads (about 2½ minutes in all)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    table: list[tuple] = []
    aims: list[str] = []
    failed = []
    for name, command, parse in benches(args.quick):
        start = time.monotonic()
        print(f"==> {' '.join(command)}", flush=True)
        result = subprocess.run(
            [sys.executable, *command], cwd=ROOT, capture_output=True, text=True, timeout=600
        )
        (OUT / f"{name}.txt").write_text(result.stdout + result.stderr)
        rows = parse(result.stdout)
        aims += re.findall(r"^aim: (.*)$", result.stdout, re.M)
        if result.returncode != 0 or not rows:
            failed.append(f"{name} (exit {result.returncode}, see var/bench/{name}.txt)")
        table.extend(rows)
        print(f"    {time.monotonic() - start:.0f} s", flush=True)
    width = max((len(row[0]) for row in table), default=20)
    print()
    print(f"{'figure':<{width}}  {'baseline':>10}  {'this':>10}  {'ratio':>6}")
    for figure, base, this, ratio in table:
        print(f"{figure:<{width}}  {base:>10.2f}  {this:>10.2f}  {ratio:>6.2f}")
    if aims:
        print()
    for line in aims:
        print(f"aim: {line}")
    for line in failed:
        print(f"FAILED: {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
