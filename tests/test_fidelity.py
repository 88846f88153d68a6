"""The fidelity study's results: reading a results file, per-model accuracies, the table."""
from __future__ import annotations

import json

import numpy as np
import pytest

from mnas_core.fidelity import (CANDIDATES, PROXY, REFERENCE, SEEDS, accuracies, pick,
                                plain_layers, proxy_note, proxy_seconds, proxy_task,
                                read_results, status, table, timing_rows, verdict)


def training(model: str, budget: str, seed: int, top1: float, macs: float, **extra) -> dict:
    return {"model": model, "budget": budget, "seed": seed, "top1": top1, "seconds": 10.0,
            "macs": macs, **extra}


def study(n: int, noise: float = 0.0, seed: int = 0) -> list[dict]:
    """n models whose reference accuracy rises with MACs and whose candidates follow it."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        macs, ref = 100e6 * (i + 1), 0.4 + 0.01 * i
        for b in CANDIDATES:
            for s in SEEDS:
                rows.append(training(f"m{i}", b.name, s, ref - 0.2 + rng.normal(0, noise), macs))
        rows.append(training(f"m{i}", REFERENCE.name, 0, ref, macs))
    return rows


def test_a_faithful_budget_scores_one_everywhere_and_noise_lowers_it():
    clean = table(study(6))
    assert list(clean.budget) == [b.name for b in CANDIDATES] + [REFERENCE.name]
    cand = clean[clean.budget != REFERENCE.name]
    assert np.allclose(cand[["seed_spearman", "ref_spearman", "ref_kendall", "macs_spearman"]],
                       1.0)
    noisy = table(study(8, noise=0.05))
    assert (noisy.ref_spearman.iloc[:4] < 1).all()
    assert noisy.macs_spearman.iloc[-1] == pytest.approx(1.0)  # the reference itself


def test_only_complete_models_count_and_budgets_with_fewer_than_four_are_left_out():
    rows = study(5)
    rows = [r for r in rows if not (r["model"] == "m4" and r["budget"] == CANDIDATES[0].name
                                    and r["seed"] == 1)]
    t = table(rows)
    assert t.set_index("budget").loc[CANDIDATES[0].name, "models"] == 4
    assert t.set_index("budget").loc[CANDIDATES[1].name, "models"] == 5
    assert table(study(3)).empty
    assert status(rows) == f"{len(rows)} of 261 trainings recorded, 4 of 29 models complete"


def test_gpu_seconds_stay_out_of_the_cpu_cost_and_latency_adds_its_column():
    rows = study(4) + [training("m9", CANDIDATES[0].name, 0, 0.3, 1e8, device="cuda")]
    rows[-1]["seconds"] = 1e6
    t = table(rows, latency={f"m{i}": 5.0 + i for i in range(4)})
    assert t.seconds.iloc[0] == 10.0
    assert np.allclose(t.latency_spearman, 1.0)
    assert "latency_spearman" not in table(study(4))


def test_seconds_come_from_one_host_never_a_mix_of_machines():
    fast = {"cpu": "AMD EPYC", "cpu_id": "vendor_id AuthenticAMD cpu family 25 model 17",
            "simd": "avx2 avx512f", "cores": 2}
    rows = study(4)  # 36 trainings of 10 s with no host: written before hosts were
    rows += [{**r, "model": r["model"] + "b", "seconds": 4.0, "host": fast} for r in study(4)]
    host, timed = timing_rows(rows)
    assert host == "the study's machines before 2026-12-04" and len(timed) == 36
    assert (table(rows).seconds == 10.0).all() and proxy_seconds(rows) == (10.0, 8, host)
    # Where the study ran on this machine's CPU, the cost quoted is this machine's.
    assert timing_rows(rows, here=fast)[1] == [r for r in rows if "host" in r]
    assert proxy_seconds(rows, here=fast) == (4.0, 8, "this machine")
    assert proxy_seconds(rows, here={**fast, "cores": 4}) == (10.0, 8, host)
    rows += [{**r, "model": r["model"] + "c", "seconds": 4.0, "host": fast} for r in study(1)]
    host, timed = timing_rows(rows)
    assert host.startswith("AMD EPYC (vendor_id AuthenticAMD cpu family 25 model 17; avx2")
    assert host.endswith(", 2 cores") and len(timed) == 45
    assert (table(rows).seconds == 4.0).all() and proxy_seconds(rows)[0] == 4.0
    assert PROXY.name in set(table(rows).budget)


def test_read_results_skips_a_torn_last_line_and_names_a_bad_one(tmp_path):
    good = [json.dumps(r) for r in study(1)]
    path = tmp_path / "f.jsonl"
    path.write_text("\n".join(good) + '\n{"model": "m1", "bud')
    assert len(read_results(path)) == len(good)
    path.write_text('{"model": "m1", "bud\n' + "\n".join(good))
    with pytest.raises(ValueError, match="line 1 is not a training"):
        read_results(path)
    path.write_text("\n".join(good) + '\n{"not": "a training"}\n')
    with pytest.raises(ValueError, match=f"line {len(good) + 1} is not a training"):
        read_results(path)


def test_accuracies_keep_the_study_order_and_each_seed():
    per = accuracies(study(3))
    assert list(per.model) == ["m0", "m1", "m2"]
    b = CANDIDATES[2].name
    assert np.allclose(per[b], (per[f"{b} seed 0"] + per[f"{b} seed 1"]) / 2)
    assert per.latency_ms.isna().all()


def test_plain_layers_count_the_layers_without_a_shortcut_and_add_their_column():
    # block 1: two layers without a skip; block 2: the strided first layer has none, the
    # second adds its input; block 3: a pool skip always adds.
    arch = "r2_k3_s11_e1_i32_o16_noskip,r2_k3_s22_e6_i16_o24,r1_k3_s22_e3_i24_o32_pool"
    assert plain_layers(arch) == 3
    assert "plain_spearman" not in table(study(4))
    rows = study(4)
    for r in rows:  # deeper plain stacks score lower here
        n = int(r["model"][1:])
        r["arch"] = f"r{4 - n}_k3_s11_e1_i32_o16_noskip,r1_k3_s22_e6_i16_o24"
    assert np.allclose(table(rows).plain_spearman, -1.0)


def test_the_verdict_chooses_a_budget_only_against_a_reference_that_ranks_big_above_small():
    assert verdict(table(study(3))) == "Too few complete models to judge a budget yet."
    refs_only = [r for r in study(6) if r["budget"] == REFERENCE.name]
    assert verdict(table(refs_only)) == "Too few complete models to judge a budget yet."
    good = verdict(table(study(6)))
    assert good.startswith(f"Over 6 models {CANDIDATES[0].name} is the cheapest")
    assert "chosen, against a reference whose ρ with MACs is 1.00" in good
    # The same models with their MACs reversed: ranks agree, the reference now favours small.
    flipped = [dict(r, macs=1e9 - r["macs"]) for r in study(6)]
    bad = verdict(table(flipped))
    assert "ranks big models below small ones (ρ with MACs -1.00" in bad
    assert bad.endswith("so it is a provisional choice only.")
    noisy = verdict(table(study(8, noise=0.3)))
    assert "no budget meets both ranking targets; the closest" in noisy
    noisy_flipped = verdict(table([dict(r, macs=1e9 - r["macs"]) for r in study(8, noise=0.3)]))
    assert noisy_flipped.endswith("so no budget is chosen against it.")


def test_the_default_budget_says_when_the_study_now_points_elsewhere():
    rows = study(6)  # every budget ranks perfectly: the cheapest (all cost 10 s) is the first
    best, meets = pick(table(rows))
    assert meets and best.budget == CANDIDATES[0].name != PROXY.name
    note = proxy_note(*proxy_task("cifar10"), rows)
    assert note.endswith(f"The default stays {PROXY.name}, the budget that met both ranking "
                         "targets earlier in the study, until the study is complete and its "
                         "reference ranks big models above small ones.")
    only_proxy = [r for r in rows if r["budget"] in (PROXY.name, REFERENCE.name)]
    assert pick(table(only_proxy))[0].budget == PROXY.name
    assert "The default stays" not in proxy_note(*proxy_task("cifar10"), only_proxy)
