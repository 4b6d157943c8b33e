"""``o2nc list``: the objectives, learners and baselines that the other commands accept by name."""
from __future__ import annotations


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("list", help="list objectives, learners and baselines with one-line descriptions",
                              description="List the objectives of the bank, the online learners (for O2NC) and the "
                                          "baselines, by the names the other commands accept: `o2nc run "
                                          "--objective NAME --learner NAME`, `o2nc run --method NAME`, and the "
                                          "objectives/methods tables of a sweep spec.")
    p.add_argument("what", nargs="?", choices=["objectives", "learners", "baselines", "all"], default="all")
    p.add_argument("--tag", action="append", help="only objectives with this tag (repeatable)")
    p.set_defaults(run=run)


def _first_line(text) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def run(args) -> int:
    if args.what in ("objectives", "all"):
        import objectives

        known = sorted(set().union(*(objectives.tags_of(n) for n in objectives.names())))
        unknown = [t for t in args.tag or () if t not in known]
        if unknown:
            from o2nc.cli import UsageError

            raise UsageError(f"--tag: unknown tag(s) {unknown}; known tags: {', '.join(known)}")
        names = objectives.names(tags=args.tag)
        print(f"objectives ({len(names)}):")
        for name in names:
            obj = objectives.get(name)
            tags = ",".join(sorted(obj.tags))
            print(f"  {name:<36} d={obj.dim:<6} {tags}")
    if args.what in ("learners", "all"):
        from online_learners import registry

        print(f"learners ({len(registry.names())}):")
        for entry in registry.entries():
            print(f"  {entry.name:<36} {entry.summary}")
        print("(`o2nc run --learner NAME` plays each in the ball ‖Δ‖ ≤ δ/T: a radius, or BallConstraint around it)")
    if args.what in ("baselines", "all"):
        from o2nc import baselines

        entries = baselines.entries()
        print(f"baselines ({len(entries)}; `o2nc run --method NAME`, or `baseline = NAME` in a sweep spec):")
        for entry in entries:
            kind = "" if entry.order == "first-order" else " [zero-order: budget = function evaluations]"
            print(f"  {entry.name:<36} {entry.summary}{kind}")
    return 0
