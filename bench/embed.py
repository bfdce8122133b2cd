"""How long the local provider takes to embed a bundle of 500 claim-like sentences.

Run from the repository root: `.venv/bin/python bench/embed.py`. Prints the result and
writes it to bench/results/embed.json. Model loading is excluded (done once at start-up);
the figure is the median of five runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import statistics
import time
from pathlib import Path

from phiacta.embeddings.local import DEFAULT_BATCH_SIZE, LocalProvider, cpu_budget

CLAIMS = 500
RUNS = 5
RESULT_PATH = Path(__file__).parent / "results" / "embed.json"

SUBJECTS = [
    "daily low-dose aspirin",
    "regular aerobic exercise",
    "the BRCA1 germline mutation",
    "elevated serum LDL cholesterol",
    "a Mediterranean diet rich in olive oil",
    "chronic sleep deprivation",
    "the new mRNA vaccine",
    "increased atmospheric carbon dioxide",
    "the selective protein kinase inhibitor",
    "an early childhood reading intervention",
]
EFFECTS = [
    "reduces the risk of",
    "is associated with a higher incidence of",
    "significantly improves",
    "has no measurable effect on",
    "accelerates the onset of",
    "lowers the measured severity of",
]
OUTCOMES = [
    "a first myocardial infarction",
    "type 2 diabetes",
    "age-related cognitive decline",
    "breast and ovarian cancer",
    "coral reef bleaching events",
    "hospital readmission within thirty days",
    "standardized reading comprehension scores",
]
CONTEXTS = [
    "in adults over fifty without prior cardiovascular disease",
    "in a randomized controlled trial of two thousand patients",
    "across three independent cohorts from Europe and Asia",
    "after twelve weeks of treatment compared with placebo",
    "in mice fed a high-fat diet for sixteen weeks",
    "according to a meta-analysis of forty observational studies",
]


def claim_sentences(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(EFFECTS)} "
        f"{rng.choice(OUTCOMES)} {rng.choice(CONTEXTS)}."
        for _ in range(count)
    ]


async def measure() -> dict[str, object]:
    sentences = claim_sentences(CLAIMS)
    provider = LocalProvider()
    try:
        started = time.perf_counter()
        await provider.warm_up()
        load_s = time.perf_counter() - started
        await provider.embed(sentences[:32])
        timings = []
        cpu_timings = []
        for _ in range(RUNS):
            started, cpu_started = time.perf_counter(), time.process_time()
            await provider.embed(sentences)
            timings.append(time.perf_counter() - started)
            cpu_timings.append(time.process_time() - cpu_started)
    finally:
        await provider.aclose()
    return {
        "benchmark": "local embedding of a 500-claim bundle",
        "claims": CLAIMS,
        "mean_words_per_claim": round(statistics.mean(len(s.split()) for s in sentences), 1),
        "runs": RUNS,
        "median_s": round(statistics.median(timings), 3),
        "min_s": round(min(timings), 3),
        "runs_s": [round(t, 3) for t in timings],
        "claims_per_s": round(CLAIMS / statistics.median(timings), 1),
        # CPU seconds over all threads: unlike wall time, barely moved by other load on
        # the machine, so a noisy run can still be compared.
        "median_cpu_s": round(statistics.median(cpu_timings), 3),
        "model_load_s": round(load_s, 3),
        "batch_size": DEFAULT_BATCH_SIZE,
        "threads": cpu_budget(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }


def main() -> None:
    result = asyncio.run(measure())
    RESULT_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULT_PATH.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
