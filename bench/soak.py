"""Soak: bench/load.py's scenarios mixed, for ten minutes; then the ledger must add up, every
email must be sent and no process may have grown.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/14 \
        .venv/bin/python bench/soak.py [--minutes 10] [--concurrency 8] [--workers 5]

The same Patron as bench/load.py (its own database `patron_bench_soak`, gunicorn with production
settings, a Celery worker sending the emails) takes a mix of requests from --concurrency
connections: of every ten, four purchases through the API, four portal home pages of signed-in
members, one staff home and one staff metrics page of a manager. At the end of every minute it
prints that minute's requests, errors, requests per second and p50/p95/p99, the resident memory
(RSS) of gunicorn's workers together, of its master and of the Celery worker (main process and
pool), and the load average.

The first minute is the warm-up (imports, templates, connections, caches); memory growth is the
last minute's RSS against the first minute's, for the gunicorn workers together and for the
Celery worker, also given per request served in between. It exits non-zero when either grew by
more than --max-growth percent (10 by default), when a gunicorn worker was replaced, when a
request failed, when an email was left unsent or when verify_ledger finds a breach. How small a
leak 10 % catches depends on the rate: at the API's target of 300 requests per second, ten
minutes are 180,000 requests and 1 KiB each is a third of the workers' memory; on a saturated
shared machine at 5 per second, only leaks above about 20 KiB per request cross it, so read the
per-request figure too.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench._harness import FIGURES_HEADER, children, hammer, load_average, rss  # noqa: E402
from bench.load import mixed_requests, patron_running, settle  # noqa: E402

DB_NAME = "patron_bench_soak"
# Of every ten requests: purchases, portal homes, staff homes, staff metrics (bench/load.py's order).
WEIGHTS = [4, 4, 1, 1]
MIB = 1024 * 1024


def memory(stage):
    """RSS in bytes: gunicorn's workers together, its master, the Celery worker and its pool;
    and the workers' pids, to notice a worker replaced (which would hide a leak)."""
    workers = children(stage.gunicorn.pid)
    celery = [stage.celery.pid, *children(stage.celery.pid)]
    return {
        "workers": sum(rss(pid) for pid in workers),
        "master": rss(stage.gunicorn.pid),
        "celery": sum(rss(pid) for pid in celery),
    }, frozenset(workers)


def growth(first, last):
    return (last - first) / first * 100 if first else 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--sample-seconds", type=float, default=60,
                        help="how often memory is read and figures printed")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=5, help="gunicorn workers (2 × cores + 1)")
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--max-growth", type=float, default=10, help="percent, after the warm-up")
    parser.add_argument("--port", type=int, default=0, help="for gunicorn; a free one by default")
    args = parser.parse_args()

    before = load_average()
    samples = []
    failures = []
    with patron_running(members=args.members, port=args.port, workers=args.workers,
                        db_name=DB_NAME) as stage:
        mixed = mixed_requests(stage.scenarios, WEIGHTS)
        periods = max(1, round(args.minutes * 60 / args.sample_seconds))
        print(f"\nSoak: {periods} × {args.sample_seconds:g} s of mixed load, {args.concurrency} "
              f"connections, {args.workers} gunicorn workers, 1 Celery worker; load average {before}")
        print(f"  {'period':>6} {FIGURES_HEADER} {'workers':>8} {'master':>7} {'celery':>7}  load average")
        requests = errors = 0
        for period in range(1, periods + 1):
            figures = hammer(stage.port, mixed, args.concurrency, seconds=args.sample_seconds,
                             first=period * 10**9)
            sizes, pids = memory(stage)
            samples.append((sizes, pids, len(figures.latencies)))
            requests += len(figures.latencies)
            errors += len(figures.errors)
            if figures.errors:
                failures.append(f"period {period}: {len(figures.errors)} failed requests "
                                f"({sorted(set(map(str, figures.errors)))})")
            print(f"  {period:6} {figures.line()} {sizes['workers'] / MIB:7.1f}M "
                  f"{sizes['master'] / MIB:6.1f}M {sizes['celery'] / MIB:6.1f}M  {load_average()}",
                  flush=True)
        print(f"  {requests:,} requests, {errors:,} failed; load average after: {load_average()}")
        failures += settle()

    (first, first_pids, _), (last, last_pids, _) = samples[0], samples[-1]
    # Requests served between the first reading and the last: what a leak would grow with.
    served = sum(count for _sizes, _pids, count in samples[1:])
    if first_pids != last_pids:
        failures.append("a gunicorn worker was replaced during the soak: its memory is not comparable")
    print(f"  memory growth after the first {args.sample_seconds:g} s "
          f"(limit {args.max_growth:g} %):")
    for group, label in [("workers", "gunicorn workers"), ("master", "gunicorn master"),
                         ("celery", "Celery worker")]:
        grew = growth(first[group], last[group])
        per_request = (last[group] - first[group]) / served / 1024 if served else 0.0
        print(f"    {label:18} {first[group] / MIB:7.1f} MiB → {last[group] / MIB:7.1f} MiB  {grew:+6.1f} %"
              f"  ({per_request:+.2f} KiB per request served since)")
        if group != "master" and grew > args.max_growth:
            failures.append(f"{label} grew by {grew:.1f} %")
    if failures:
        sys.exit("FAILED: " + "; ".join(failures))
    print("  passed: the ledger adds up, every email was sent, no process grew.")


if __name__ == "__main__":
    main()
