"""The marker-safe streaming filter: no dangling or invalid marker is ever shown."""

from __future__ import annotations

import random
import re

import pytest

from newsdesk.rag.llm.stream import MarkerFilter

REPLY = "The Su-57 [2]. It will be shown [7] in Zhuhai [2][2][3]. A note [sic] stays [1, 9]. End [4"


def feed_all(pieces: list[str], n: int = 3) -> tuple[list[str], str]:
    f = MarkerFilter(n)
    shown: list[str] = []
    for piece in pieces:
        shown.append(f.feed(piece))
        visible = "".join(shown)
        assert not re.search(r"[\[【]\s*[\d,\s]*$", visible), visible  # no partial marker on screen
        assert all(1 <= int(m) <= n for m in re.findall(r"\[(\d+)\]", visible))
    shown.append(f.finish())
    return shown, "".join(shown)


def test_whole_reply() -> None:
    _, text = feed_all([REPLY])
    assert text == "The Su-57 [1]. It will be shown in Zhuhai [1] [2]. A note [sic] stays [3]. End "


@pytest.mark.parametrize("seed", range(30))
def test_any_split_gives_the_same_text(seed: int) -> None:
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(REPLY)), rng.randint(1, 25)))
    pieces = [REPLY[a:b] for a, b in zip([0, *cuts], [*cuts, len(REPLY)], strict=True)]
    assert feed_all(pieces)[1] == feed_all([REPLY])[1]


def test_one_character_at_a_time() -> None:
    assert feed_all(list(REPLY))[1] == feed_all([REPLY])[1]


def test_a_partial_marker_is_held_then_released() -> None:
    f = MarkerFilter(3)
    assert f.feed("Zhuhai [") == "Zhuhai "
    assert f.feed("1") == ""
    assert f.feed("].") == "[1]."


def test_an_unfinished_marker_at_the_end_is_dropped() -> None:
    f = MarkerFilter(3)
    assert f.feed("Done [2") == "Done "
    assert f.finish() == ""


def test_think_blocks_are_hidden() -> None:
    _shown, text = feed_all(["<thi", "nk>plan: say [9]</th", "ink>Answer [1]."])
    assert text == "Answer [1]."


def test_renumbering_can_be_off() -> None:
    f = MarkerFilter(5, renumber=False)
    assert f.feed("A [4]. B [2].") + f.finish() == "A [4]. B [2]."


def test_an_echoed_fence_tag_is_never_shown() -> None:
    reply = '<passage n="3" title="Talks in Beijing">\nThe Su-57 [3]. A < B and x<y stay. </passage>'
    whole = feed_all([reply])[1]
    assert whole == "The Su-57 [1]. A < B and x<y stay. "
    for size in (1, 2, 5):
        pieces = [reply[i : i + size] for i in range(0, len(reply), size)]
        shown, text = feed_all(pieces)
        assert text == whole
        visible = ""
        for piece in shown:
            visible += piece
            assert "<pass" not in visible and "</" not in visible
