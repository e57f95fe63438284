"""What a wider window would do for questions whose window ("this week", "in 2023") is refused.

    .venv/bin/python -m bench.fit_answerer dump --work-dir W    # first: the questions and labels
    .venv/bin/python -m bench.windows --work-dir W [--half report]

A question's time phrase is a hard filter on the search (:meth:`prompts.searching.Searching.framed`).
This asks every question of one half (:mod:`bench.split`) as of its quiz date, as the product
does, and -- for a question with a time phrase -- once more over each fallback window: the 30
days before the window, all the coverage before it, and all the coverage up to the asking day.
A fallback's answer stands in only where the windowed answer is refused. The refusal threshold is
then re-chosen by the shipped rule (the least that refuses 85% of the unanswerable questions),
once on ``unanswerable.jsonl`` as dated (2021 quiz days, while the coverage is 2023: their windows
and everything before them are nearly empty, so a fallback there costs nothing -- an artifact no
user has) and once on the same questions **re-dated** into the answerable quiz range (same
weekday; the coverage before their windows is then as full as a real user's), and the answerable
questions scored at each threshold. Nothing here is product code; see BENCHMARKS.md section 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.answers import contains
from bench.fit_answerer import judged_answerable, load
from bench.harness import bench_set, parser, say
from bench.systems import Newsdesk, ensure_newsdesk

#: The first and last quiz days of the answerable questions (2023), where re-dated ones go.
ANSWERABLE_DAYS = (date(2023, 6, 22), date(2023, 11, 3))
#: Unanswerable quiz days run over this year.
UNANSWERABLE_YEAR = 2021


def fallbacks(since: date | None, day: date) -> dict[str, tuple[date | None, date | None]]:
    """The wider windows tried when the question's own window (from ``since``) is refused."""
    windows: dict[str, tuple[date | None, date | None]] = {"up to the asking day": (None, day)}
    if since is not None:
        windows["30 days before"] = (since - timedelta(days=30), since - timedelta(days=1))
        windows["all before"] = (None, since - timedelta(days=1))
    return windows


def redated(day: date, days: tuple[date, date] = ANSWERABLE_DAYS) -> date:
    """A 2021 quiz day placed at the same point of the answerable quiz range, same weekday."""
    share = (day - date(day.year, 1, 1)).days / 365
    moved = days[0] + timedelta(days=int(share * (days[1] - days[0]).days))
    return moved + timedelta(days=(day.weekday() - moved.weekday()) % 7)


@dataclass(frozen=True, slots=True)
class Asked:
    """One question as asked: its confidence and rightness, in its window and in each fallback
    (confidence 0 when nothing was cited)."""

    kind: str  # "judged", "silver" (no relevant article), "unanswerable", "unanswerable re-dated"
    phrase: str
    own: tuple[float, bool]
    wider: dict[str, tuple[float, bool]] = field(default_factory=dict)

    def answered(self, fallback: str | None, threshold: float) -> tuple[bool, bool]:
        """(answered, right) at ``threshold``, the fallback standing in when the window refuses."""
        conf, right = self.own
        if conf > 0 and conf >= threshold:
            return True, right
        conf, right = self.wider.get(fallback or "", (0.0, False))
        return conf > 0 and conf >= threshold, conf > 0 and conf >= threshold and right


def rule(asked: Sequence[Asked], fallback: str | None, kind: str, refuse: float = 0.85) -> float:
    """The least threshold (in thousandths) refusing ``refuse`` of the ``kind`` questions."""
    group = [a for a in asked if a.kind == kind]
    for t in (i / 1000 for i in range(1001)):
        if sum(not a.answered(fallback, t)[0] for a in group) >= refuse * len(group):
            return t
    return 1.0


def ask_half(work: Path, data: Path | None, name: str) -> list[Asked]:
    """Every question of half ``name`` asked in its window and in each fallback window."""
    import prompts.refusal as refusal
    from prompts.extractive import ANSWER_PASSAGES
    from prompts.timeframes import resolve_time, strip_time
    from retrieval.search import Filters

    bset = bench_set_for(data)
    rows = [r for r in load(work, bset.name) if r["half"] == name]
    system = Newsdesk(ensure_newsdesk(work, bset))
    desk, searching = system.desk, system.desk.searching
    saved, refusal.MIN_CONFIDENCE = refusal.MIN_CONFIDENCE, 0.0  # every confidence, gate applied later
    out = []
    try:
        for r in rows:
            days = [r["date"]] if r["answerable"] else [r["date"], redated(r["date"])]
            for day in days:
                system._day = day
                question = strip_time(r["question"])

                def scored(answer: Any, r: dict[str, Any] = r) -> tuple[float, bool]:
                    if not (answer.grounded and answer.citations):
                        return 0.0, False
                    text = " ".join(c.quote for c in answer.citations) + (
                        " " + answer.short.text if answer.short else ""
                    )
                    return answer.confidence or 0.0, bool(r["answerable"]) and contains(
                        r["answer_text"], text
                    )

                framed = searching.framed(r["question"], None, None, None, k=ANSWER_PASSAGES)
                frame = resolve_time(r["question"], day)
                wider = {}
                if frame.phrase:
                    for label, (since, until) in fallbacks(frame.since, day).items():
                        hits = searching.searcher.search(
                            question, ANSWER_PASSAGES, Filters(since, until, None), asked_on=day
                        )
                        wider[label] = scored(desk.offline.answer(question, hits))
                kind = (
                    ("judged" if judged_answerable(r) else "silver")
                    if r["answerable"]
                    else ("unanswerable" if day == r["date"] else "unanswerable re-dated")
                )
                out.append(
                    Asked(kind, frame.phrase, scored(desk.offline.answer(question, framed.hits)), wider)
                )
    finally:
        refusal.MIN_CONFIDENCE = saved
        system.close()
    return out


def bench_set_for(data: Path | None) -> Any:
    args = parser("").parse_args(["--data", str(data)] if data else [])
    return bench_set(args)


def table(asked: Sequence[Asked], shipped: float) -> list[str]:
    """One line per (fallback, threshold): judged / silver refused and right, unanswerable refused."""
    groups: dict[str, list[Asked]] = {}
    for a in asked:
        groups.setdefault(a.kind, []).append(a)
    answerable = [*groups.get("judged", []), *groups.get("silver", [])]
    lines = []

    def share(group: list[Asked], fallback: str | None, t: float) -> float:
        return sum(not a.answered(fallback, t)[0] for a in group) / len(group) if group else float("nan")

    for fallback in (None, "30 days before", "all before", "up to the asking day"):
        for how, t in (
            ("shipped", shipped),
            ("rule, as dated", rule(asked, fallback, "unanswerable")),
            ("rule, re-dated", rule(asked, fallback, "unanswerable re-dated")),
        ):
            judged = groups.get("judged", [])
            lines.append(
                f"{fallback or 'none':22s} {how:15s} {t:.3f} | judged refused"
                f" {sum(not a.answered(fallback, t)[0] for a in judged)}/{len(judged)} right"
                f" {sum(a.answered(fallback, t)[1] for a in judged)} | silver refused"
                f" {sum(not a.answered(fallback, t)[0] for a in answerable)}/{len(answerable)} right"
                f" {sum(a.answered(fallback, t)[1] for a in answerable)} | unanswerable refused"
                f" {share(groups.get('unanswerable', []), fallback, t):.3f},"
                f" re-dated {share(groups.get('unanswerable re-dated', []), fallback, t):.3f}"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    from prompts.refusal import MIN_CONFIDENCE

    p = parser(__doc__.splitlines()[0])
    p.add_argument(
        "--half", choices=("tune", "report"), default="tune", help="which half (report: at the end)"
    )
    args = p.parse_args(argv)
    asked = ask_half(args.work_dir, args.data, args.half)
    say(f"{args.half} half: {len(asked)} askings; with a time phrase:", sum(bool(a.phrase) for a in asked))
    for line in table(asked, MIN_CONFIDENCE):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
