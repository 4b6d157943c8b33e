r"""Performance profiles, data profiles and a leaderboard from a profile's calls table.

The input is :func:`o2nc.experiments.profile.collect`'s table: for each method entry (a method at its theory tuning,
or tuned: its best configuration per problem) and each problem, the calls to a (δ, ε) certificate per seed, ``None``
where a seed did not certify within the cap.

Per problem p and entry s, t_{p,s} is the median over seeds with an unsolved seed counted as +∞ (so a problem is
solved by s when more than half of its seeds are).

- Performance profile (Dolan & Moré, *Benchmarking optimization software with performance profiles*, Math. Program.
  91 (2002), §2): the ratio r_{p,s} = t_{p,s} / min_s t_{p,s} and ρ_s(τ) = |{p : r_{p,s} ≤ τ}| / n_p.  ρ_s(1) is the
  share of problems on which s is fastest (ties included); problems no entry solves count in n_p.
- Data profile (Moré & Wild, *Benchmarking derivative-free optimization algorithms*, SIAM J. Optim. 20 (2009), §2,
  eq. (2.7)): d_s(κ) = |{p : t_{p,s} / (n_p + 1) ≤ κ}| / n_p, κ in calls per (dimension + 1).
- Leaderboard (derived here): per class, the share of problems with t_{p,s} < ∞ and the median over problems of
  r_{p,s}, with the same median as over seeds: +∞ unless more than half of the problems are solved (at exactly half,
  one of the two middle values is +∞).  Runs stored as errors are unsolved in every number and counted apart per
  entry (:func:`entry_errors`), so that a crash is not read as a failure to converge.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

__all__ = ["entries", "median_calls", "performance_ratios", "performance_profile", "data_profile", "leaderboard",
           "write_report", "plot_profiles"]

INF = math.inf


def _as_array(seeds: Sequence[int | None]) -> np.ndarray:
    return np.array([INF if c is None else float(c) for c in seeds], dtype=float)


def _median(a: np.ndarray) -> float:
    """The median of ``a`` with +∞ entries kept: the middle value, or the mean of the two middle values, so +∞ as
    soon as one of them is +∞, that is unless more than half of the entries are finite (+∞ for an empty ``a``)."""
    if a.size == 0:
        return INF
    a = np.sort(a)
    n = a.size
    return float(a[n // 2]) if n % 2 else float(0.5 * (a[n // 2 - 1] + a[n // 2]))


def median_calls(seeds: Sequence[int | None]) -> float:
    """t_{p,s}: the median over seeds of the calls, an unsolved seed counted as +∞ (+∞ when no seed is given; finite
    only when more than half of the seeds are solved)."""
    return _median(_as_array(seeds))


def _entry_configs(prof) -> dict:
    """Method entry → the configurations it draws on: ``"METHOD (theory)"`` its theory configuration, and for a
    method with a grid ``"METHOD (tuned)"`` every configuration of the grid (theory first)."""
    out = {}
    for m in prof.methods:
        cfgs = [c for c in prof.configs if c.method == m]
        theory = next(c for c in cfgs if c.theory)
        out[f"{m} (theory)"] = [theory]
        if len(cfgs) > 1:
            out[f"{m} (tuned)"] = cfgs
    return out


def entries(prof, collected: Mapping) -> dict:
    """Method entries → {problem: calls per seed}: ``"METHOD (theory)"`` (its theory configuration) and, for a method
    with a grid, ``"METHOD (tuned)"``: on each problem the configuration with the smallest median calls (the first of
    the grid on ties).  Also returns which configuration each tuned entry used: ``(table, chosen)``."""
    table = collected["configs"]
    out, chosen = {}, {}
    for e, cfgs in _entry_configs(prof).items():
        if len(cfgs) == 1:
            out[e] = table[cfgs[0].label]
            continue
        tuned, pick = {}, {}
        for p in collected["problems"]:
            best = min(cfgs, key=lambda c: median_calls(table[c.label][p]))
            tuned[p], pick[p] = table[best.label][p], best.point
        out[e] = tuned
        chosen[e] = pick
    return out, chosen


def entry_errors(prof, collected: Mapping) -> dict:
    """Method entry → {problem: (errored runs, runs)}: of the runs the entry draws on (its theory configuration's
    seeds; for a tuned entry every configuration of its grid, since a crashed configuration might have been the best),
    how many are stored as errors (``collected["errors"]``, :func:`o2nc.experiments.profile.collect`)."""
    nseeds = len(prof.data["seeds"])
    crashed: dict = {}
    for err in collected.get("errors", ()):
        key = (err["config"], err["problem"])
        crashed[key] = crashed.get(key, 0) + 1
    return {e: {p: (sum(crashed.get((c.label, p), 0) for c in cfgs), len(cfgs) * nseeds)
                for p in collected["problems"]}
            for e, cfgs in _entry_configs(prof).items()}


def performance_ratios(t: np.ndarray) -> np.ndarray:
    """r_{p,s} = t_{p,s} / min_s t_{p,s} for t of shape (problems, entries); +∞ where s (or every entry) fails."""
    best = np.min(t, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(np.isfinite(t) & np.isfinite(best), t / best, INF)
    return r


def performance_profile(t: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """ρ_s(τ) for each τ of ``taus`` (rows) and entry s (columns)."""
    r = performance_ratios(t)
    return np.array([(r <= tau).mean(axis=0) for tau in taus])


def data_profile(t: np.ndarray, dims: np.ndarray, kappas: np.ndarray) -> np.ndarray:
    """d_s(κ) for each κ of ``kappas`` (rows) and entry s (columns); ``dims`` the problems' dimensions n_p."""
    per = t / (np.asarray(dims, dtype=float)[:, None] + 1.0)
    return np.array([(per <= k).mean(axis=0) for k in kappas])


def _matrix(ents: Mapping, problems: Sequence[str]) -> np.ndarray:
    return np.array([[median_calls(ents[e][p]) for e in ents] for p in problems], dtype=float).reshape(
        len(problems), len(ents))


def leaderboard(ents: Mapping, problems: Sequence[str], classes: Mapping[str, str],
                errors: Mapping | None = None) -> dict:
    """Per class (and ``"all"``), per entry: the share of problems solved (t_{p,s} < ∞), the median over problems
    of the ratio r_{p,s} (+∞ unless the entry solves more than half of the problems, like t_{p,s} over seeds), the
    share on which it is fastest, and for each seed i the same share solved and median ratio computed from seed i's
    calls against the per-problem best median (their range over seeds is the interval).  ``errors``
    (:func:`entry_errors`) adds each entry's runs stored as errors, ``errored_runs`` out of ``runs``: they are
    unsolved in every other number."""
    names = list(ents)
    nseeds = max(len(v) for e in ents.values() for v in e.values())
    out = {}
    for cls in sorted(set(classes.values())) + ["all"]:
        probs = [p for p in problems if cls == "all" or classes[p] == cls]
        if not probs:
            continue
        t = _matrix(ents, probs)
        r = performance_ratios(t)
        best = np.min(t, axis=1)
        rows = {}
        for j, e in enumerate(names):
            per_seed_solved, per_seed_ratio = [], []
            for i in range(nseeds):
                c = np.array([INF if ents[e][p][i] is None else float(ents[e][p][i]) for p in probs])
                with np.errstate(invalid="ignore", divide="ignore"):
                    ri = np.where(np.isfinite(c) & np.isfinite(best), c / best, INF)
                per_seed_solved.append(float(np.isfinite(c).mean()))
                per_seed_ratio.append(_median(ri))
            rows[e] = {"solved": float(np.isfinite(t[:, j]).mean()), "median_ratio": _median(r[:, j]),
                       "fastest": float((r[:, j] <= 1.0).mean()),
                       "solved_seeds": per_seed_solved, "median_ratio_seeds": per_seed_ratio}
            if errors is not None:
                rows[e]["errored_runs"] = int(sum(errors[e][p][0] for p in probs))
                rows[e]["runs"] = int(sum(errors[e][p][1] for p in probs))
        out[cls] = {"problems": len(probs), "rows": rows}
    return out


def _fmt_ratio(x: float) -> str:
    return "∞" if not math.isfinite(x) else f"{x:.3g}"


#: The mark of an entry with runs stored as errors in the leaderboard.
ERROR_MARK = "†"


def leaderboard_markdown(board: Mapping, title: str, notes: str = "") -> str:
    """The leaderboard as Markdown: one table per class, entries by share solved then median ratio; an entry with
    runs stored as errors is marked :data:`ERROR_MARK` and their count is a column (when the board has them)."""
    lines = [f"# {title}", ""]
    if notes:
        lines += [notes, ""]
    for cls, block in board.items():
        with_errors = any("errored_runs" in v for v in block["rows"].values())
        lines += [f"## {cls} ({block['problems']} problems)", "",
                  "| method | solved | solved, range over seeds | median calls / best | range over seeds | fastest |"
                  + (" errored runs |" if with_errors else ""),
                  "|---|---|---|---|---|---|" + ("---|" if with_errors else "")]
        rows = sorted(block["rows"].items(), key=lambda kv: (-kv[1]["solved"], kv[1]["median_ratio"], kv[0]))
        for e, v in rows:
            s, q = v["solved_seeds"], v["median_ratio_seeds"]
            crashed = v.get("errored_runs", 0)
            name = f"{e} {ERROR_MARK}" if crashed else e
            lines.append(f"| {name} | {v['solved']:.0%} | {min(s):.0%} – {max(s):.0%} | "
                         f"{_fmt_ratio(v['median_ratio'])} | {_fmt_ratio(min(q))} – {_fmt_ratio(max(q))} | "
                         f"{v['fastest']:.0%} |" + (f" {crashed} of {v['runs']} |" if with_errors else ""))
        lines.append("")
    return "\n".join(lines)


def _style(names: Sequence[str]):
    """A distinct (color, line style) per method: O2NC solid (and thicker), baselines dashed."""
    import matplotlib.pyplot as plt

    methods = sorted({n.rsplit(" (", 1)[0] for n in names})
    cmap = plt.get_cmap("tab20")
    order = list(range(0, 20, 2)) + list(range(1, 20, 2))  # the strong colors first, then their light twins
    colors = {m: cmap(order[i % 20]) for i, m in enumerate(methods)}
    return {n: (colors[n.rsplit(" (", 1)[0]], "-" if n.startswith("o2nc") else "--") for n in names}


def plot_profiles(ents: Mapping, problems: Sequence[str], dims: Mapping[str, int], out: Path,
                  caption: str = "") -> tuple:
    """Write ``performance_profile.png`` and ``data_profile.png`` into ``out`` (two panels each: theory entries
    and tuned entries, computed over all entries together; one curve per method, log τ / log κ)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(ents)
    t = _matrix(ents, problems)
    style = _style(names)
    finite = t[np.isfinite(t)]
    r = performance_ratios(t)
    rmax = float(np.max(r[np.isfinite(r)])) if np.isfinite(r).any() else 2.0
    taus = np.logspace(0, math.log10(max(2.0, rmax * 1.5)), 400)
    per = t / (np.array([dims[p] for p in problems], dtype=float)[:, None] + 1)
    kmin = float(np.min(per[np.isfinite(per)])) if finite.size else 1.0
    kmax = float(np.max(per[np.isfinite(per)])) if finite.size else 10.0
    kappas = np.logspace(math.log10(kmin / 1.5), math.log10(kmax * 1.5), 400)
    rho = performance_profile(t, taus)
    dprof = data_profile(t, np.array([dims[p] for p in problems]), kappas)
    paths = []
    for fname, xs, ys, xlabel, ylabel in (
            ("performance_profile.png", taus, rho, "performance ratio τ (calls / fewest calls on the problem)",
             "share of problems with ratio ≤ τ"),
            ("data_profile.png", kappas, dprof, "κ: calls / (dimension + 1)", "share of problems solved")):
        fig, axes = plt.subplots(1, 2, figsize=(14, 7.2), sharey=True)
        for ax, which in zip(axes, ("theory", "tuned")):
            for j, n in enumerate(names):
                method = n.rsplit(" (", 1)[0]
                if which == "theory" and n.endswith("(theory)"):
                    label = n
                elif which == "tuned" and (n.endswith("(tuned)") or f"{method} (tuned)" not in ents):
                    label = n if n.endswith("(tuned)") else f"{method} (no step to tune: theory)"
                else:
                    continue
                color, ls = style[n]
                ax.step(xs, ys[:, j], where="post", color=color, linestyle=ls, label=label,
                        lw=2.6 if n.startswith("o2nc") else 1.4)
            ax.set_xscale("log")
            ax.set_ylim(0, 1.02)
            ax.set_xlabel(xlabel)
            ax.set_title("theory tuning" if which == "theory" else "tuned: best of the equal grid, per problem")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, frameon=False)
        axes[0].set_ylabel(ylabel)
        if caption:
            fig.suptitle(caption, fontsize=9)
        fig.tight_layout()
        path = out / fname
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return tuple(paths)


def write_report(prof, collected: Mapping, out: Path) -> dict:
    """Write ``profile.json``, ``leaderboard.md``, ``performance_profile.png`` and ``data_profile.png`` into
    ``out``; return the JSON data."""
    from o2nc.experiments.profile import CALLS_COUNTED

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ents, chosen = entries(prof, collected)
    errs = entry_errors(prof, collected)
    problems = collected["problems"]
    t = _matrix(ents, problems)
    rho1 = performance_profile(t, np.array([1.0]))[0]
    d = prof.data
    counted = CALLS_COUNTED.format(cap=d["max_queries"], start=d["doubling_start"])
    errors = list(collected.get("errors", ()))
    data = {
        "name": prof.name,
        "methods": list(ents),
        "problems": problems,
        "calls": {e: {p: list(ents[e][p]) for p in problems} for e in ents},
        "performance_profile_at_1": {e: float(rho1[j]) for j, e in enumerate(ents)},
        "classes": collected["classes"],
        "dims": collected["dims"],
        "tuned_choice": chosen,
        "configs": collected["configs"],
        "certificate_calls": collected.get("certificate_calls", {}),
        "errored_runs": {e: {"errored": sum(k for k, _ in errs[e].values()),
                             "runs": sum(n for _, n in errs[e].values())} for e in ents},
        "errors": errors,
        "setup": {"delta": d["delta"], "epsilons": d["epsilons"], "epsilon_scale": d["epsilon_scale"],
                  "seeds": d["seeds"], "max_queries": d["max_queries"], "grid": d["grid"],
                  "epoch_lengths": d["epoch_lengths"], "calls_counted": counted, "missing_runs": collected["missing"],
                  "error_runs": len(errors)},
    }
    (out / "profile.json").write_text(json.dumps(data, indent=1) + "\n")
    board = leaderboard(ents, problems, collected["classes"], errs)
    scale = "× G (each problem's Lipschitz constant)" if d["epsilon_scale"] == "lipschitz" else "(absolute)"
    notes = (f"{len(problems) // len(d['epsilons'])} objectives × ε ∈ {{{', '.join(f'{e:g}' for e in d['epsilons'])}}} "
             f"{scale} = {len(problems)} problems; δ = {d['delta']:g}; {len(d['seeds'])} seeds.  *calls*: {counted}.  "
             "*solved*: share of problems whose median over seeds is certified "
             "(more than half of the seeds certified); *median calls / best*: median over the class's problems of "
             "the entry's median calls over the fewest of any entry (∞ unless it solves more than half of them: "
             "at exactly half, one of the two middle values is ∞); ranges: the same two numbers from each seed's "
             "calls alone, min – max over seeds; *fastest*: share of problems where it needs the fewest calls (ties "
             "included); *errored runs*: the runs the entry draws on (theory: its configuration's; tuned: every "
             "configuration of its grid's) that stopped with an error instead of finishing, out of those runs: they "
             f"count as unsolved in the other columns, and an entry with any is marked {ERROR_MARK} (profile.json: "
             "errors).  *theory*: the method's theory/reference setting; *tuned*: its best of "
             f"{len(d['grid'])} configurations per problem (baselines: step × {', '.join(f'{g:g}' for g in d['grid'])};"
             f" O2NC: theory and T ∈ {{{', '.join(map(str, d['epoch_lengths']))}}}).")
    if errors:
        notes += (f"  **{len(errors)} run(s) stopped with an error** (counted as unsolved, not as failures to "
                  f"converge): {_error_summary(errors)}.")
    if collected["missing"]:
        notes += f"  **{collected['missing']} run(s) not run yet** (counted as unsolved): the profile is incomplete."
    (out / "leaderboard.md").write_text(leaderboard_markdown(board, f"Leaderboard: {prof.name}", notes) + "\n")
    caption = (f"{prof.name}: {len(problems)} problems (objective × ε), δ = {d['delta']:g}, {len(d['seeds'])} seeds, "
               f"median calls over seeds (unsolved seed = ∞)")
    if errors:
        caption += f"; {len(errors)} run(s) stopped with an error, counted as unsolved"
    plot_profiles(ents, problems, collected["dims"], out, caption)
    data["leaderboard"] = board
    return data


def _error_summary(errors: Sequence[Mapping]) -> str:
    """The errored runs grouped by configuration and message: ``CONFIG on P1, P2 (n runs): MESSAGE``."""
    groups: dict = {}
    for e in errors:
        groups.setdefault((e["config"], e["error"]), []).append(e["problem"])
    return "; ".join(f"{cfg} on {', '.join(dict.fromkeys(ps))} ({len(ps)} run{'s' if len(ps) > 1 else ''}): {msg}"
                     for (cfg, msg), ps in groups.items())
