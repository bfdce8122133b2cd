"""Paper ingestion speed and memory.

    .venv/bin/python -m bench.ingest_papers [--runs 5] [--papers 100]

1. A 15-page two-column PDF (generated here with fpdf2: ~40 paragraphs of varied
   findings, methods and numbers, and a 40-entry numbered bibliography with DOIs)
   ingested offline with the local embedding model into an embedded PostgreSQL: read,
   extract, embed, write. Each run uses a fresh copy (a nonce in the text, so it is
   not "already ingested"); the median is reported (target: under 3 s), with the CPU
   seconds of this process (all threads) and of PostgreSQL per paper: on a machine
   shared with other work the wall time says little, the CPU seconds do.
2. `--papers` such PDFs of 8 pages through `phiacta ingest FOLDER` as a subprocess,
   embeddings on; its peak resident memory (ru_maxrss of that child, from wait4), its
   RSS every 2 s (flat after the model loads: nothing grows per paper) and wall time
   (target: under 500 MB).

Prints the figures and writes bench/results/ingest_papers.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
from fpdf import FPDF

from phiacta.db import admin, migrate
from phiacta.db.embedded import EmbeddedPostgres
from phiacta.db.pool import create_pool
from phiacta.embeddings import create_provider
from phiacta.extensions.base import Source
from phiacta.extensions.paper_ingestion import PaperIngestion
from phiacta.extensions.runner import DatabaseTarget, run_extension
from tests.support import make_settings

RESULTS = Path(__file__).parent / "results" / "ingest_papers.json"
SUBJECTS = [
    "caffeine",
    "sleep deprivation",
    "aerobic exercise",
    "blue light",
    "meditation",
    "a high-fat diet",
    "cold exposure",
    "noise",
    "nicotine",
    "music",
]
MEASURES = [
    "reaction time",
    "working memory span",
    "error rate",
    "heart rate variability",
    "cortisol level",
    "accuracy",
    "sleep latency",
    "grip strength",
]


def _paragraph(rng: random.Random, kind: str, refs: int) -> str:
    s, m = rng.choice(SUBJECTS), rng.choice(MEASURES)
    a, b = round(rng.uniform(10, 400), 1), round(rng.uniform(10, 400), 1)
    cite = f"[{rng.randint(1, refs)}]"
    if kind == "Methods":
        return (
            f"We measured {m} in {rng.randint(12, 400)} adults before and "
            f"{rng.randint(5, 90)} min after exposure to {s}, e.g. in a quiet room. "
            f"Participants were randomized to {s} or control groups {cite}. "
            f"Samples were analysed with a mixed model with {rng.randint(2, 6)} factors."
        )
    return (
        f"Exposure to {s} {'increased' if a < b else 'reduced'} mean {m} from {a} to {b} "
        f"(p < 0.0{rng.randint(1, 5)}) in the treated group, as shown in Fig. "
        f"{rng.randint(1, 9)} {cite}. Smith et al. reported a similar {rng.randint(2, 40)}% "
        f"change in {m}. The effect of {s} on {m} was significantly larger in older "
        f"participants, which suggests that age moderates the response."
    )


def make_pdf(path: Path, pages: int, seed: int) -> None:
    rng = random.Random(seed)
    refs = 40
    body: list[str] = ["Abstract", _paragraph(rng, "Results", refs), ""]
    sections = ["1 Introduction", "2 Methods", "3 Results", "4 Discussion", "5 Conclusion"]
    per_section = max(1, pages * 3)
    for heading in sections:
        body += [heading, ""]
        for _ in range(per_section):
            body += [_paragraph(rng, heading.split()[1], refs), ""]
    body += [
        "Acknowledgements",
        "We thank the volunteers and acknowledge grant 1234.",
        "",
        "References",
    ]
    body += [
        f"[{i}] A. Author. A study of {rng.choice(MEASURES)}. J. Tests {2000 + i % 24}. "
        f"https://doi.org/10.5555/bench.{seed}.{i}"
        for i in range(1, refs + 1)
    ]
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    pdf.set_font("Helvetica", size=14)
    pdf.set_xy(15, 15)
    pdf.multi_cell(180, 7, f"A benchmark paper on {rng.choice(SUBJECTS)} ({uuid.uuid4().hex[:8]})")
    pdf.set_font("Helvetica", size=9)
    top, bottom, x, y = 30.0, 280.0, 15.0, 30.0
    for line in body:
        for text in pdf.multi_cell(85, 4.5, line or " ", dry_run=True, output="LINES") or [" "]:
            if y > bottom:
                if x < 100:
                    x, y = 110.0, top
                else:
                    pdf.add_page()
                    x, y = 15.0, 15.0
            pdf.set_xy(x, y)
            pdf.cell(85, 4.5, text)
            y += 4.5
    pdf.output(str(path))


def _postgres_cpu(data_dir: Path) -> float:
    """CPU seconds PostgreSQL's postmaster and its backends have used so far."""
    pid = int((data_dir / "postmaster.pid").read_text().split()[0])
    postmaster = psutil.Process(pid)
    total = 0.0
    for process in [postmaster, *postmaster.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue  # a backend that just ended
        total += times.user + times.system
    return total


async def _one_paper(
    url: str, data_dir: Path, files: list[Path], pgdata: Path
) -> tuple[list[float], list[float], list[float]]:
    """Per paper after the first: wall seconds, this process's CPU seconds (all its
    threads: reading, extracting, embedding, writing) and PostgreSQL's."""
    settings = make_settings(url, data_dir, embed_on_write=True, database_pool_size=2)
    pool = create_pool(settings, url)
    await pool.open()
    embedder = create_provider(settings)
    extension = PaperIngestion()
    target = DatabaseTarget(pool, embedder, settings)
    await target.register(extension.manifest)
    # One paper first: loads the model, so the runs measure steady-state work.
    await run_extension(extension, Source.from_path(files[0]), target)
    times: list[float] = []
    cpu: list[float] = []
    pg_cpu: list[float] = []
    try:
        for file in files[1:]:
            started, cpu_before, pg_before = (
                time.perf_counter(),
                time.process_time(),
                _postgres_cpu(pgdata),
            )
            outcome = await run_extension(extension, Source.from_path(file), target)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_before)
            pg_cpu.append(_postgres_cpu(pgdata) - pg_before)
            assert outcome.error is None and outcome.claims >= 10, outcome
            print(
                f"{file.name}: {outcome.claims} claims, {outcome.references} references, "
                f"{times[-1]:.2f} s, CPU {cpu[-1]:.2f} s + PostgreSQL {pg_cpu[-1]:.2f} s"
            )
    finally:
        await embedder.aclose()
        await pool.close()
    return times, cpu, pg_cpu


def _run_measured(
    command: list[str], env: dict[str, str]
) -> tuple[float, list[float], subprocess.CompletedProcess[str]]:
    """Run `command`; its own peak RSS in MB (wait4's rusage of that child alone, not
    of every child this process ever waited for), its RSS every 2 s, and its output."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(command, env=env, stdout=out, stderr=err, text=True)
        samples: list[float] = []
        status: int | None = None
        usage: Any = None
        next_sample = time.monotonic()
        while status is None:
            pid, code, rusage = os.wait4(child.pid, os.WNOHANG)
            if pid == child.pid:
                status, usage = os.waitstatus_to_exitcode(code), rusage
                break
            if time.monotonic() >= next_sample:
                samples.append(_rss_mb(child.pid))
                next_sample += 2.0
            time.sleep(0.05)
        child.returncode = status
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(command, status, out.read(), err.read())
    return usage.ru_maxrss / 1024, samples, done


def _rss_mb(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/statm").read_text().split()
    except OSError:
        return 0.0
    return int(fields[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--papers", type=int, default=100)
    args = parser.parse_args()
    load_before = os.getloadavg()
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="phiacta-bench-papers-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        server = EmbeddedPostgres(root / "postgres")
        server.start()
        try:
            name = f"bench_{uuid.uuid4().hex[:8]}"
            admin.create_database(server.url(), name)
            url = admin.with_database(server.url(), name)
            migrate.upgrade(url, 384)
            files = []
            for i in range(args.runs + 1):
                files.append(root / f"fifteen-{i}.pdf")
                make_pdf(files[-1], 15, seed=i)
            pgdata = next((root / "postgres").rglob("postmaster.pid")).parent
            times, cpu, pg_cpu = asyncio.run(_one_paper(url, root / "data", files, pgdata))
            result["fifteen_page_pdf_seconds"] = {
                "median": round(statistics.median(times), 3),
                "runs": [round(t, 3) for t in times],
                "cpu_median": round(statistics.median(cpu), 3),
                "postgres_cpu_median": round(statistics.median(pg_cpu), 3),
            }
            print(
                f"15-page PDF, offline with embeddings: median {statistics.median(times):.2f} s"
                f" over {len(times)} runs ({', '.join(f'{t:.2f}' for t in times)}); CPU "
                f"median {statistics.median(cpu):.2f} s + PostgreSQL "
                f"{statistics.median(pg_cpu):.2f} s (wall on a loaded machine exceeds CPU / 2)"
            )

            folder = root / "many"
            folder.mkdir()
            for i in range(args.papers):
                make_pdf(folder / f"paper-{i:03d}.pdf", 8, seed=1000 + i)
            env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
            env |= {
                "DATABASE_URL": url,
                "PHIACTA_DATA_DIR": str(root / "data"),
                "EMBEDDING_PROVIDER": "local",
                "EMBED_ON_WRITE": "true",
                "LOG_LEVEL": "warning",
                "API_KEY_SALT": "bench",
            }
            started = time.perf_counter()
            peak_mb, samples, done = _run_measured(
                [sys.executable, "-m", "phiacta", "ingest", str(folder)], env
            )
            wall = time.perf_counter() - started
            failed = done.returncode != 0
            result["many_papers"] = {
                "papers": args.papers,
                "seconds": round(wall, 1),
                "peak_rss_mb": round(peak_mb, 1),
                "rss_mb_every_2s": samples,
                "failed": failed,
            }
            print(
                f"{args.papers} papers through `phiacta ingest`: {wall:.1f} s, "
                f"peak RSS {peak_mb:.0f} MB, exit {done.returncode}; RSS every 2 s: "
                + " ".join(f"{mb:.0f}" for mb in samples)
            )
            if failed:
                print(done.stderr[-2000:])
        finally:
            server.stop()
    result["load_average"] = {
        "before": load_before,
        "after": os.getloadavg(),
        "cpus": os.cpu_count(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
