"""The CIFAR-10 proxy-fidelity study: its budgets and what its results say (which cheap
training budget ranks models as a long one does). benchmarks/fidelity.py runs the trainings;
the README, notebook 04 and the app read the results through here, so they agree.

A results file is JSON lines, one per training: model, arch, width, budget (a name below),
budget_spec, seed, top1, top5, steps, seconds, macs, params, load1 (the load average it ran
under), device (rows written before it was recorded ran on the CPU) and host (the CPU and
its core count, latency.fingerprint.cpu_identity; absent in rows written before 2026-12-04,
whose machine was not recorded). Seconds compare only within one host: two 2-core VMs sold as
"AMD EPYC" trained 2-3.5x apart.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .arch import parse_arch
from .layers import expand_layers

SEEDS = (0, 1)


@dataclass(frozen=True)
class Budget:
    """One proxy training: `images` training images for `epochs` at `resolution`, each
    candidate trained at `width` x its own width multiplier."""

    name: str
    images: int
    epochs: float
    resolution: int = 32
    width: float = 1.0

    @property
    def passes(self) -> float:
        return self.images * self.epochs


# Candidates spend 10k image passes each, so they compare at equal steps; the reference 80k.
# They vary what EcoNAS (Zhou et al., CVPR 2020) found matters: images vs epochs at equal
# steps, resolution (at 16 the last blocks see 2x2 maps) and a narrower copy (width x0.5).
CANDIDATES = (
    Budget("2.5k x4 r16", 2_500, 4, 16),
    Budget("10k x1 r16", 10_000, 1, 16),
    Budget("10k x1 r32", 10_000, 1, 32),
    Budget("10k x1 r32 w0.5", 10_000, 1, 32, 0.5),
)
REFERENCE = Budget("ref 20k x4 r32", 20_000, 4, 32)
# What real data trains at unless told otherwise (`mnas search --dataset cifar10`, the app's
# form; `proxy_task` applies it): the only budget meeting both ranking targets over the
# study's first 14 models, at under half the cost of a full-width one; over 19 none meets both.
# Provisional: the reference fails the size target (see `verdict`), and the CLI note, the app and
# the README say both.
PROXY = CANDIDATES[3]
PROXY_VAL_IMAGES = 5_000  # held out of the training pool, as the study validates
# The targets for choosing a budget. "The reference ranks big models above small ones"
# needs a number: a Spearman with MACs of at least 0.3. It is a floor, not a significance test
# (over a dozen models chance alone gives |rho| >= 0.3 about one time in three).
MIN_REF_SPEARMAN, MIN_SEED_SPEARMAN, MIN_REF_MACS_SPEARMAN = 0.7, 0.8, 0.3
FIELDS = ("model", "budget", "seed", "top1", "seconds", "macs")
RESULTS_FILE = "fidelity_cifar10.jsonl"  # its name beside the sample runs


def read_results(path: str | Path) -> list[dict]:
    """The recorded trainings of a results file. A torn last line (a study killed mid-write)
    is left out; any other line that is not a training is a ValueError naming it."""
    lines = Path(path).read_text().splitlines()
    rows = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            if i == len(lines):  # torn: the study resumes by training it again
                continue
            row = None
        if not (isinstance(row, dict) and all(k in row for k in FIELDS)):
            raise ValueError(f"{path}: line {i} is not a training of the fidelity study")
        rows.append(row)
    return rows


def plain_layers(arch: str) -> int:
    """How many of the network's block layers add no input to their output (skip 'none', or
    an identity skip where shapes change): its depth without shortcuts, what makes a deep
    network slow to train."""
    return sum(not L.adds_input for L in expand_layers(parse_arch(arch))[1:-2])


def accuracies(rows: list[dict], latency: dict[str, float] | None = None) -> pd.DataFrame:
    """One row per model that has its reference training: macs, latency_ms (from `latency`,
    model -> ms, where given), plain_layers (from its arch, where rows have one), ref (its
    reference top-1) and, per candidate budget it completed with every seed, that budget's
    seeds and mean (columns "<budget> seed <s>" and "<budget>"). Models in study order."""
    acc = {(r["model"], r["budget"], r["seed"]): r["top1"] for r in rows}
    latency = latency or {}
    out = []
    for model in dict.fromkeys(r["model"] for r in rows):
        if (model, REFERENCE.name, SEEDS[0]) not in acc:
            continue
        first = next(r for r in rows if r["model"] == model)
        row = {"model": model, "macs": first["macs"],
               "latency_ms": latency.get(model, float("nan")),
               "plain_layers": plain_layers(first["arch"]) if "arch" in first else np.nan,
               "ref": acc[(model, REFERENCE.name, SEEDS[0])]}
        for b in CANDIDATES:
            seeds = [acc.get((model, b.name, s)) for s in SEEDS]
            if None not in seeds:
                row.update({f"{b.name} seed {s}": a for s, a in zip(SEEDS, seeds)})
                row[b.name] = float(np.mean(seeds))
        out.append(row)
    return pd.DataFrame(out)


def host_label(row: dict) -> str:
    """The machine a training's seconds were measured on, in words."""
    h = row.get("host")
    if not h:
        return "the study's machines before 2026-12-04"
    return (f"{h['cpu']} ({h['cpu_id'] or 'model unknown'}; {h['simd'] or 'no SIMD'}), "
            f"{h['cores']} cores")


def this_host() -> dict:
    """This machine as a row's host: its CPU (latency.fingerprint.cpu_identity) and cores."""
    import os

    from .latency.fingerprint import cpu_identity  # imported on use: the package loads torch
    return {**cpu_identity(), "cores": os.cpu_count()}


def by_host(rows: list[dict]) -> dict[str, list[dict]]:
    """The CPU trainings of `rows` grouped by host_label, in order of first appearance."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        if r.get("device", "cpu") == "cpu":
            groups.setdefault(host_label(r), []).append(r)
    return groups


def timing_rows(rows: list[dict], here: dict | None = None) -> tuple[str, list[dict]]:
    """(host, its CPU trainings): seconds come from one host, so that a median never mixes
    machines: `here` (a host, e.g. this_host()) where it ran any, else the one host that ran
    the most CPU trainings."""
    groups = by_host(rows)
    if not groups:
        return "", []
    main = max(groups, key=lambda h: len(groups[h]))
    if here is not None and host_label({"host": here}) in groups:
        main = host_label({"host": here})
    return main, groups[main]


def table(rows: list[dict], latency: dict[str, float] | None = None) -> pd.DataFrame:
    """Per candidate budget, over the models that completed it and the reference: how many,
    their mean top-1, seed-to-seed Spearman, Spearman and Kendall vs the reference, Spearman
    of accuracy vs MACs, vs latency (`latency`: model -> measured ms, where every model has
    one) and vs plain_layers (where every model has an arch), and the median seconds of one
    of its trainings on the CPU of `timing_rows` (a training on a GPU, or on another CPU, has
    no place in one 2-core cost). Budgets with fewer than 4 such models are left out."""
    from scipy.stats import kendalltau, spearmanr

    per = accuracies(rows, latency)
    cpu = timing_rows(rows)[1]
    out = []
    for name in [b.name for b in CANDIDATES] + [REFERENCE.name]:
        col = "ref" if name == REFERENCE.name else name
        done = per[per[col].notna()] if col in per else per.iloc[:0]
        if len(done) < 4:
            continue
        secs = [r["seconds"] for r in cpu if r["budget"] == name]
        row = {"budget": name, "models": len(done), "mean_top1": done[col].mean()}
        if col != "ref":
            row.update(seed_spearman=spearmanr(done[f"{name} seed 0"],
                                               done[f"{name} seed 1"]).statistic,
                       ref_spearman=spearmanr(done[col], done["ref"]).statistic,
                       ref_kendall=kendalltau(done[col], done["ref"]).statistic)
        row["macs_spearman"] = spearmanr(done[col], done["macs"]).statistic
        if done["latency_ms"].notna().all():
            row["latency_spearman"] = spearmanr(done[col], done["latency_ms"]).statistic
        if done["plain_layers"].notna().all():
            row["plain_spearman"] = spearmanr(done[col], done["plain_layers"]).statistic
        row["seconds"] = float(np.median(secs)) if secs else float("nan")
        out.append(row)
    return pd.DataFrame(out)


def status(rows: list[dict], models: int = 29) -> str:
    """How far the study is, in words: trainings recorded and models complete."""
    per_model = len(CANDIDATES) * len(SEEDS) + 1
    complete = sum(all(pd.notna(r.get(b.name)) for b in CANDIDATES)
                   for r in accuracies(rows).to_dict("records"))
    return (f"{len(rows)} of {models * per_model} trainings recorded, {complete} of {models} "
            "models complete")


def pick(t: pd.DataFrame) -> tuple[pd.Series | None, bool]:
    """(budget row, whether it meets both ranking targets) of a table (from `table`): the
    cheapest budget meeting both, else the one closest to them (the largest of its two
    shortfalls is the smallest); None while no candidate and reference can be compared."""
    cand = t[t.budget != REFERENCE.name] if not t.empty else t
    # References alone (a GPU run of `--only "ref ..."`) have nothing to rank yet.
    if cand.empty or REFERENCE.name not in set(t.budget):
        return None, False
    meets = cand[(cand.ref_spearman >= MIN_REF_SPEARMAN)
                 & (cand.seed_spearman >= MIN_SEED_SPEARMAN)].sort_values("seconds")
    if len(meets):
        return meets.iloc[0], True
    worst = np.minimum(cand.ref_spearman - MIN_REF_SPEARMAN,
                       cand.seed_spearman - MIN_SEED_SPEARMAN)
    return cand.loc[worst.idxmax()], False


def verdict(t: pd.DataFrame) -> str:
    """What a table (from `table`) says against the targets, in one or two sentences: the
    cheapest budget meeting both ranking targets is chosen if the reference itself ranks big
    models above small ones, and only provisionally (PROXY) if not; without one, say what the
    best budget reaches."""
    best, meets = pick(t)
    if best is None:
        return "Too few complete models to judge a budget yet."
    ref = t[t.budget == REFERENCE.name].iloc[0]
    n, macs = int(ref.models), float(ref.macs_spearman)
    if meets:
        ranking = (f"Over {n} models {best.budget} is the cheapest budget meeting both ranking "
                   f"targets (ρ {best.ref_spearman:.2f} vs the reference, "
                   f"{best.seed_spearman:.2f} seed to seed, {best.seconds:.0f} s per training)")
    else:
        ranking = (f"Over {n} models no budget meets both ranking targets; the closest, "
                   f"{best.budget}, reaches ρ {best.ref_spearman:.2f} vs the reference and "
                   f"{best.seed_spearman:.2f} seed to seed ({best.seconds:.0f} s per training)")
    if macs >= MIN_REF_MACS_SPEARMAN:
        if meets:
            return f"{ranking}: chosen, against a reference whose ρ with MACs is {macs:.2f}."
        return f"{ranking}. The reference ranks big models above small ones (ρ {macs:.2f})."
    side = "below" if macs < 0 else "barely above"
    outcome = ("so it is a provisional choice only" if meets
               else "so no budget is chosen against it")
    return (f"{ranking}. But the reference ranks big models {side} small ones (ρ with MACs "
            f"{macs:.2f}, target >= {MIN_REF_MACS_SPEARMAN}), {outcome}.")


def proxy_task(dataset: str):
    """(DataConfig, TrainConfig): the default proxy task on `dataset`, the one place it is set
    (the CLI and the app's form start from it). digits: DataConfig's and TrainConfig's
    defaults. Real data: PROXY's training images, epochs, resolution and width, validated on
    5,000 held-out images as the study was."""
    import dataclasses

    from .data import DataConfig
    from .train import TrainConfig  # imported on use: it loads torch

    data, train = DataConfig(name=dataset), TrainConfig()
    if data.source == "digits":
        return data, train
    return (dataclasses.replace(data, resolution=PROXY.resolution, train_images=PROXY.images,
                                val_images=PROXY_VAL_IMAGES),
            dataclasses.replace(train, epochs=PROXY.epochs, width=PROXY.width))


def proxy_seconds(rows: list[dict], here: dict | None = None) -> tuple[float, int, str] | None:
    """The median seconds of one PROXY training, how many there are and where, in words:
    "this machine" when `here` (this_host()) ran some of them, else the host of
    `timing_rows`."""
    host, timed = timing_rows(rows, here)
    secs = [r["seconds"] for r in timed if r["budget"] == PROXY.name]
    if not secs:
        return None
    where = "this machine" if here is not None and host == host_label({"host": here}) else host
    return float(np.median(secs)), len(secs), where


def proxy_note(data, train, rows: list[dict] | None = None, here: dict | None = None) -> str:
    """What a search's training budget on real data (its DataConfig and TrainConfig) is worth,
    in words, for the CLI and the app's form alike: the default (PROXY) with its measured cost
    (`proxy_seconds(rows, here)`) and the study's verdict when `rows` (the recorded study) are
    given; any other budget is one the study did not measure."""
    d, t = proxy_task(data.name)
    if (data.resolution, data.train_images, train.epochs, train.steps, train.width) != (
            d.resolution, d.train_images, t.epochs, t.steps, t.width):
        return ("This training budget is not one the CIFAR-10 fidelity study measured, so how "
                f"well it ranks models is unknown; the default for real data is {PROXY.name}.")
    measured = proxy_seconds(rows or [], here)
    cost = (f": {measured[0]:.0f} s a model on {measured[2]} (median of {measured[1]} "
            "trainings)" if measured else "")
    found = ""
    if rows:
        shown = table(rows)
        best, _ = pick(shown)
        found = f" {verdict(shown)}"
        if best is not None and best.budget != PROXY.name:
            found += (f" The default stays {PROXY.name}, the budget that met both ranking "
                      "targets earlier in the study, until the study is complete and its "
                      "reference ranks big models above small ones.")
    return (f"Real data trains at the proxy budget {PROXY.name} ({PROXY.images:,} images x "
            f"{PROXY.epochs:g} epoch at {PROXY.resolution}x{PROXY.resolution}, each model as a "
            f"x{PROXY.width:g}-width copy), from the CIFAR-10 fidelity study{cost}.{found}")
