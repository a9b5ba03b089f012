"""Seeded generator of citizen-style letters for the shipped model's training corpus.

Method (docs/classifier.md, "The corpus"): every hand-written line of `corpus/*.jsonl` (the
"cores", 1 270 short complaints labelled with category, subcategory and department) is kept as
it is, and composed into letters that look like what citizens send to a message board or a
hotline: a greeting, who writes and where (places anonymised as "A市A3区", "XX小区"), since
when, the main problem (1-4 cores of one subcategory), what was tried, other problems of other
categories ("另外，..."), the impact, several requests, a closing; or a terse SMS. Some letters
are colloquial, carry typos, or are written in traditional characters (OpenCC s2t). The
vocabulary of the frames is `generator_vocab.yaml`, written for this project.

The label of a letter is its main problem's. Every line carries `group`: one of five buckets of
the cores (by a hash of the core text); a letter draws all its cores from one bucket, so a
split by group (`suqiu train` does it when groups are present) never tests on a core it trained on.

    python services/classifier/corpus/generate.py --seed 2026 --letters 2600 \
        --out services/classifier/corpus/generated/citizen_letters.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import opencc
import yaml

HERE = Path(__file__).resolve().parent
BUCKETS = 5
LETTERS = "ABCDEFGH"
# Real place names in the cores, replaced by anonymised codes in letters.
PLACES = re.compile(
    "杭州市|杭州|上城区|拱墅区|西湖区|滨江区|萧山区|余杭区|临平区|钱塘区|富阳区|临安区|桐庐县|淳安县|"
    "建德市|广州市|上海市|北京市|深圳市|南京市|成都市|武汉市|苏州市|宁波市|温州市|"
    "文新街道|古荡街道|西溪街道|翠苑街道|蒋村街道|转塘街道|留下街道|下沙街道|南苑街道|"
    "滨江|萧山|余杭|临平|富阳|临安|桐庐|淳安")


def _bucket(text: str) -> str:
    return f"g{int(hashlib.sha1(text.encode()).hexdigest(), 16) % BUCKETS}"


class Writer:
    def __init__(self, vocab: dict[str, Any], rng: random.Random) -> None:
        self.v = vocab
        self.rng = rng
        self.s2t = opencc.OpenCC("s2t")

    def pick(self, key: str) -> str:
        return str(self.rng.choice(self.v[key]))

    def place(self) -> str:
        r, a = self.rng, self.rng.choice(LETTERS)
        return r.choice([f"{a}市{a}{r.randint(1, 9)}区", f"{a}市", f"{a}县{a}{r.randint(1, 5)}镇",
                         f"{a}市{a}{r.randint(1, 9)}区{r.choice(['XX', '某'])}街道",
                         f"{a}省{a}市{a}{r.randint(1, 9)}区"])

    def fill(self, template: str, topic: str = "") -> str:
        r = self.rng
        values = {"place": self.place(),
                  "community": r.choice(["XX小区", "某某花园", "XX家园", f"{r.choice(LETTERS)}"
                                         f"{r.randint(1, 9)}小区", "某社区", "XX新村"]),
                  "road": r.choice(["XX路", "某某大道", f"{r.choice(LETTERS)}{r.randint(1, 9)}路",
                                    "XX街"]),
                  "years": str(r.randint(2, 15)), "months": str(r.randint(2, 11)),
                  "month": str(r.randint(1, 12)), "times": str(r.randint(2, 9)),
                  "unit": self.pick("units"), "topic": topic,
                  **dict(zip("ab", r.sample(self.v["request_parts"], 2), strict=True))}
        return template.format(**values)

    def anonymise(self, text: str) -> str:
        return PLACES.sub(lambda _m: self.place(), text)

    def roughen(self, text: str) -> str:
        r = self.rng
        if r.random() < 0.3:
            for a, b in r.sample(self.v["colloquial"], 3):
                text = text.replace(a, b, 1)
        if r.random() < 0.12:
            a, b = r.choice(self.v["typos"])
            text = text.replace(a, b, 1)
        if r.random() < 0.1:
            text = text.replace("。", "！", 2)
        return text

    def sms(self, core: str) -> str:
        head = re.split(r"[，。！？]", core)[0] if self.rng.random() < 0.5 else core
        return f"{self.pick('sms_prefixes')}{head}{self.pick('sms_suffixes')}"

    def letter(self, main: list[str], others: list[str], topic: str, long: bool) -> str:
        r = self.rng
        parts = [self.pick("greetings"), self.fill(self.pick("identities"))]
        parts.append(self.fill(self.pick("timelines")) + main[0])
        for i, extra in enumerate(main[1:]):
            parts.append(self.pick("connectors") + extra)
            if long and i % 2 == 1:
                parts.append(self.fill(self.pick("tried")))
        parts.append(self.fill(self.pick("tried")))
        if long:
            parts.extend(r.sample(self.v["impacts"], 2))
        for other in others:
            parts.append(self.pick("secondary_intros") + other)
        if long or r.random() < 0.4:
            parts.append(self.fill(self.pick("numbered_requests")))
        if r.random() < 0.3:
            parts.append(self.fill(self.pick("topic_requests"), topic))
        parts.append(self.pick("requests"))
        parts.append(self.pick("closings"))
        sep = "\n" if long and r.random() < 0.5 else ""
        return sep.join(p for p in parts if p)


def _cores() -> dict[str, list[dict[str, Any]]]:
    """Hand-written lines by bucket."""
    by_bucket: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in sorted(HERE.glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                by_bucket[_bucket(row["text"])].append(row)
    return by_bucket


def generate(seed: int, letters: int, vocab: dict[str, Any]) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    w = Writer(vocab, rng)
    buckets = _cores()
    out: list[dict[str, Any]] = []
    for bucket in sorted(buckets):
        for row in buckets[bucket]:  # every core once, as written
            out.append({**row, "group": bucket, "style": "core"})
    names = sorted(buckets)
    for _ in range(letters):
        bucket = rng.choice(names)
        pool = buckets[bucket]
        row = rng.choice(pool)
        # The main problem is told with more lines of its subcategory, else of its category.
        same = [c for c in pool if c["subcategory"] == row["subcategory"] and c is not row]
        kin = [c for c in pool if c["category"] == row["category"] and c not in same
               and c is not row]
        style = rng.choices(["sms", "hotline", "letter", "long", "very_long"],
                            [0.15, 0.12, 0.4, 0.23, 0.1])[0]
        core = w.anonymise(row["text"])
        title = None
        if style == "sms":
            text = w.sms(core)
        elif style == "hotline":
            text = w.pick("hotline_prefixes") + core + w.pick("requests")
        else:
            long = style != "letter"
            k = {"letter": rng.randint(0, 2), "long": rng.randint(2, 4),
                 "very_long": rng.randint(10, 20)}[style]
            extra = rng.sample(same, min(k, len(same)))
            extra += rng.sample(kin, min(k - len(extra), len(kin)))
            main = [core] + [w.anonymise(c["text"]) for c in extra]
            elsewhere = [c for c in pool if c["category"] != row["category"]
                         and c["category"] != "其他"]
            n_other = rng.choices([0, 1, 2, 3], [0.45, 0.3, 0.15, 0.1])[0] \
                if row["category"] != "其他" else 0
            others = [w.anonymise(c["text"]) for c in rng.sample(elsewhere, n_other)]
            text = w.letter(main, others, row["subcategory"], long)
            if rng.random() < 0.35:
                title = w.fill(w.pick("titles"), row["subcategory"] if rng.random() < 0.5 else "")
                title = title.replace("关于的", "关于").replace("解决问题", "解决") or None
        text = w.roughen(text)
        if rng.random() < 0.08:
            text = w.s2t.convert(text)
            title = w.s2t.convert(title) if title else None
        out.append({"text": text, "title": title, "category": row["category"],
                    "subcategory": row["subcategory"], "department": row["department"],
                    "group": bucket, "style": style})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--letters", type=int, default=2600)
    ap.add_argument("--out", type=Path, default=HERE / "generated" / "citizen_letters.jsonl")
    args = ap.parse_args()
    vocab = yaml.safe_load((HERE / "generator_vocab.yaml").read_text(encoding="utf-8"))
    rows = generate(args.seed, args.letters, vocab)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                        encoding="utf-8")
    lengths = sorted(len(r["text"]) for r in rows)
    print(f"{len(rows)} lines -> {args.out}; median length {lengths[len(lengths) // 2]}, "
          f"max {lengths[-1]}, >= 300: {sum(n >= 300 for n in lengths)}")


if __name__ == "__main__":
    main()
