"""Text helpers both store backends use: CJK bigrams, query tokens, term extraction.

Chinese, Japanese, Korean, Thai… are written without spaces between words, so their runs are
split into overlapping character bigrams (the SQLite ``cjk`` column, term statistics); other
scripts are folded words. ``terms_of`` is the one term extraction: the SQLite backend counts
it over sampled documents, the Elasticsearch backend indexes it as the ``terms`` field.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

# Scripts written without spaces between words (plus Hangul, whose words carry particles).
_CJK_CLASS = (
    "\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff"  # Thai, Lao, Myanmar, Khmer
    "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # kana, Han
    "\uac00-\ud7af\U00020000-\U0002ffff"  # Hangul syllables, Han extensions
)
CJK_RUN = re.compile(f"[{_CJK_CLASS}]+")
WORD = re.compile(r"[^\W_]+")
_QUERY_TOKEN = re.compile(r'"([^"]*)"?|(\S+)')

# Small stopword lists for the major languages of foreign coverage (term statistics only).
_STOPWORD_TEXT = """
    a an the and or but of to in on at by for with from as is are was were be been being it its
    this that these those he she they we you i his her their our your not no yes will would can
    could should may might has have had do does did said says say after before over under into
    about than then there here what which who whom when where why how all any more most other
    some such only own same so too very just also new one two three up out off again us mr ms
    le la les un une des du de et ou mais est sont dans sur pour par avec au aux ce cette ces il
    elle ils elles nous vous qui que quoi dont pas plus se sa son ses leur leurs été être
    der die das ein eine einer eines und oder aber ist sind war waren im in den dem des zu mit
    auf für von bei nach aus nicht auch es sie er wir ihr sich als wie dass
    el los las una unos unas y o pero es son fue en con por para del al lo se su sus que como
    más
    il lo gli i uno e ed o ma è sono nel nella con per tra fra che di da al della
    o os as um uma e ou mas é são no na nos nas com por para do da dos das que em
    и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только
    ее мне было вот от меня еще нет о из ему теперь когда даже ну ли если уже или ни быть был
    него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где есть надо
    ней для мы тебя их чем была сам чтобы без будто чего раз тоже себе под будет это этот
    في من على إلى عن مع هذا هذه التي الذي أن إن كان قد لا ما و أو ثم
    的 了 在 是 和 与 也 就 都 而 及 着 或 之 这 那 有 被 中
    の に は を た が で て と し れ さ ある いる も する から な こと として い や れる など
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def cjk_bigrams(text: str) -> str:
    """Runs of unspaced scripts as overlapping bigrams plus the run's last character.

    "武汉市" -> "武汉 汉市 市": every character starts some token, so a one-character query
    is a prefix query and a longer one is a phrase of its bigrams.
    """
    tokens: list[str] = []
    for run in CJK_RUN.findall(text):
        tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
        tokens.append(run[-1])
    return " ".join(tokens)


def bigram_phrase(run: str) -> list[str]:
    """One CJK run as the bigrams a phrase query looks for (a lone character stays one)."""
    return [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]


def query_tokens(text: str) -> Iterator[tuple[str, bool]]:
    """The user's search text as (token, prefix) pairs: words, "quoted phrases" (kept whole,
    an unclosed quote runs to the end), and ``word*`` as a prefix (the star removed)."""
    for match in _QUERY_TOKEN.finditer(text):
        phrase, word = match.group(1), match.group(2)
        raw = phrase if phrase is not None else word
        prefix = phrase is None and raw.endswith("*")
        yield (raw.rstrip("*") if prefix else raw), prefix


def words_of(text: str) -> list[str]:
    """The letter/digit runs of ``text`` (what makes a token searchable)."""
    return WORD.findall(text)


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def terms_of(text: str) -> set[str]:
    """Language-agnostic terms for term statistics: folded words, CJK character bigrams."""
    terms: set[str] = set()
    for run in CJK_RUN.findall(text):
        terms.update(t for t in bigram_phrase(run) if len(t) == 2 and not _stop_bigram(t))
    for word in WORD.findall(CJK_RUN.sub(" ", text)):
        folded = _fold(word)
        if len(folded) > 1 and not folded.isdigit() and folded not in _STOPWORDS:
            terms.add(folded)
    return terms


def _stop_bigram(bigram: str) -> bool:
    return bigram[0] in _STOPWORDS or bigram[1] in _STOPWORDS
