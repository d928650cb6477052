"""A retrieval test set made from speech: spoken passages (espeak-ng reads them; the repository's JFK and
LibriSpeech recordings join as distractors), each with queries whose right answer is known — some share words with
the passage, the **paraphrases share none** (full text cannot find them; only meaning can).

Used by tests/test_semantic.py (assertions) and bench/retrieval.py (recall@10 and MRR, words alone vs hybrid).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Passage:
    key: str
    text: str  # what espeak-ng reads
    marker: str  # a word of the passage its transcript will hold: how the right segment is recognised


PASSAGES = [
    Passage("cyclist", "A cyclist rides through the city at night with a bright lamp on his handlebars.", "cyclist"),
    Passage("pasta", "The chef boils spaghetti and stirs tomato sauce in a large pan.", "spaghetti"),
    Passage("storm", "Heavy rain and strong winds are expected across the coast tomorrow evening.", "rain"),
    Passage("goal", "The striker shoots from outside the box and scores in the last minute.", "striker"),
    Passage("vote", "Members of parliament voted on the new budget after a long debate.", "parliament"),
    Passage("puppy", "A small puppy chases a red ball across the garden lawn.", "puppy"),
    Passage("surgery", "The surgeon washes her hands before the operation begins.", "surgeon"),
    Passage("market", "Share prices fell sharply when the stock exchange opened this morning.", "prices"),
    Passage("train", "The train to Edinburgh is delayed by forty minutes because of a signal failure.", "train"),
    Passage("concert", "The orchestra played the symphony to a full concert hall.", "orchestra"),
]

# (query, the passage it is about, whether it shares no word with the passage's text)
QUERIES = [
    ("cyclist at night", "cyclist", False),
    ("a man riding a bike in the dark", "cyclist", True),
    ("spaghetti tomato sauce", "pasta", False),
    ("cooking noodles in the kitchen", "pasta", True),
    ("rain and wind on the coast", "storm", False),
    ("bad weather forecast", "storm", True),
    ("striker scores", "goal", False),
    ("football player kicks a late winner", "goal", True),
    ("parliament budget vote", "vote", False),
    ("politicians decide government spending", "vote", True),
    ("puppy chases a ball", "puppy", False),
    ("young dog playing outdoors", "puppy", True),
    ("surgeon operation", "surgery", False),
    ("doctor getting ready in hospital", "surgery", True),
    ("stock exchange share prices", "market", False),
    ("markets crash", "market", True),
    ("train delayed to Edinburgh", "train", False),
    ("railway service running late", "train", True),
    ("orchestra symphony", "concert", False),
    ("classical music performance", "concert", True),
]


def script() -> str:
    """Every passage in order, for one reading with a pause between them (espeak's [[_:]] pause markup is not
    portable: a full stop and a new paragraph give a long enough pause)."""
    return "\n\n".join(p.text for p in PASSAGES)


def recall_and_mrr(ranked: dict[str, list[str]], wanted: dict[str, str], k: int = 10) -> tuple[float, float]:
    """Recall@k and mean reciprocal rank over queries: ``ranked`` query → passage keys best first."""
    hits = reciprocal = 0.0
    for query, passage in wanted.items():
        order = ranked.get(query, [])
        if passage in order[:k]:
            hits += 1
        if passage in order:
            reciprocal += 1 / (order.index(passage) + 1)
    return hits / len(wanted), reciprocal / len(wanted)
