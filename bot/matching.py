"""Fuzzy matching: the only rapidfuzz import. Product index, region lexicon, query parsing.

Brute-force scoring of every catalog string costs ~0.8 µs a string (≈0.2 s at 100k
products), so the product index first narrows the field with an inverted index over
words (typo-tolerant through a fuzzy look-up in the much smaller word vocabulary), and
only the few best candidates are scored with rapidfuzz's WRatio.
"""

from __future__ import annotations

import bisect
import heapq
import math
import operator
import re
import unicodedata
from array import array
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

_NON_ALNUM = re.compile(r"[^0-9a-z]+")

# Words sales put around the product and market that name neither.
FILLER = frozenset(
    "can could we i you sell selling sold is are it the a an available availability "
    "status what whats about of please pls check may do does our my".split()
)
CONNECTORS = frozenset({"in", "for", "at", "into", "to"})

MATCH_THRESHOLD = 72.0  # below this a product is not "what was asked for"
AMBIGUITY_MARGIN = 4.0  # candidates this close to the best are listed, never silently picked
SUGGEST_THRESHOLD = 45.0
SEARCH_LIMIT = 8  # products a search returns: more than a list of choices should hold
# Below this many vocabulary words, the words a typo is compared with are kept joined per
# length (~11 MB at most for 10k products), so a misspelt word costs one comparison call,
# not up to ten.
SMALL_VOCABULARY = 50_000
REGION_CUTOFF = 84  # fuzz.ratio a misspelt market name needs ("austrlia" ~ "australia")
PREFILTER_KEEP = 0.4  # share of the best prefilter weight a candidate needs to be scored
# Memoised results per index (so per catalog version): questions differ, but the product
# and market parts of them repeat ("widget pro" asked about in every market). Cleared
# when full rather than evicted one by one: refilling is cheap, bookkeeping is not. The
# bound keeps a long-running process's memory flat.
CACHE_ENTRIES = 8192


def normalize(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form: 'Widget-Pro®' -> 'widget pro'."""
    if text.isascii():  # the common case: no accents to strip
        return _NON_ALNUM.sub(" ", text.lower()).strip()
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NON_ALNUM.sub(" ", text).strip()


def tokens_of(text: str) -> list[str]:
    return normalize(text).split()


class Match(NamedTuple):  # up to 8 per search, several searches per question: a tuple is
    # made several times faster than a frozen dataclass
    key: int  # the caller's id for the product (its position in the catalog)
    score: float
    matched: str  # the catalog string (name, alias or SKU) that matched best
    exact: bool = False


def word_score(query_words: Sequence[str], words: Sequence[str]) -> float:
    """0..100: how well every query word is found among `words` (typos and prefixes
    allowed), slightly preferring strings with fewer words left unexplained."""
    return _word_score(query_words, sum(map(len, query_words)), words, sum(map(len, words)))


def _word_score(query_words: Sequence[str], total: int, words: Sequence[str], size: int) -> float:
    """word_score, given the letters in `query_words` (total) and in `words` (size): a
    search scores each of its candidates with the same query words."""
    if not total or not words:
        return 0.0
    got = 0.0
    used: set[int] = set()
    ratio = fuzz.ratio
    for w in query_words:
        if w in words:  # nothing scores above the word itself (ratio 100, first such word)
            got += len(w) * 100.0
            used.add(words.index(w))
            continue
        best, best_j = 0.0, -1
        prefix = len(w) >= 2
        for j, v in enumerate(words):
            sim = ratio(w, v)
            if prefix and v.startswith(w):
                bonus = 70 + 30 * len(w) / len(v)
                if bonus > sim:
                    sim = bonus
            if sim > best:
                best, best_j = sim, j
        got += len(w) * best
        if best >= 60:
            used.add(best_j)
    explained = sum([len(words[j]) for j in used]) / size
    return got / total * (0.85 + 0.15 * explained)


class ProductIndex:
    """Inverted word index over product names, aliases and SKUs, rebuilt per catalog version.

    It lives as long as its catalog version, and a large catalog has hundreds of thousands
    of distinct words (every SKU number, every run-together name), so it keeps little per
    word and per string: the sorted vocabulary, which string ids hold each word as one flat
    array (no per-word list, no int object per id), the caller's own display strings
    (normalized forms are recomputed for the few candidates scored), and word weights (idf)
    computed when used rather than stored.
    """

    def __init__(self, products: Sequence[tuple[int, Sequence[str]]]) -> None:
        self._display: list[str] = []  # the caller's strings, not copies
        self._owner = array("q")  # string id -> the caller's key
        # Spaced forms ("widget pro") whose first string is not the first string with their
        # compact form ("widgetpro", e.g. an alias): exact matches are found through these.
        self._spaced: dict[str, int] = {}
        exact: dict[str, int] = {}  # compact form -> first string id with it
        postings: dict[str, int | list[int]] = {}  # a bare id while a word has only one
        fuzzy_words: set[str] = set()
        compacts: set[str] = set()  # "widgetpro" for "Widget Pro": found when typed as one word
        for key, names in products:
            for name in names:
                norm = normalize(name)
                if not norm:
                    continue
                sid = len(self._display)
                self._display.append(name)
                self._owner.append(key)
                words = norm.split()
                compact = norm.replace(" ", "")
                first = exact.setdefault(compact, sid)
                if first != sid and len(words) > 1 and norm not in self._spaced:
                    if normalize(self._display[first]) != norm:
                        self._spaced[norm] = sid
                for w in set(words):
                    _post(postings, w, sid)
                    fuzzy_words.add(w)
                if len(words) > 1:
                    _post(postings, compact, sid)
                    compacts.add(compact)
        # The vocabulary keeps the one object per word that the postings dict kept.
        self._vocab: list[str] = sorted(postings)
        self._starts = array("I", [0])  # vocabulary index -> its ids in _ids[start:next start]
        self._ids = array("I")
        self._exact = array("i")  # vocabulary index -> first string with that compact form
        for w in self._vocab:
            ids = postings[w]
            if isinstance(ids, int):
                self._ids.append(ids)
            else:
                self._ids.extend(ids)
            self._starts.append(len(self._ids))
            self._exact.append(exact.get(w, -1))  # every compact form is a word or posted
        del postings, exact
        self._n = max(len(self._display), 1)
        # Fuzzy look-up compares words of about the same length only; run-together names
        # ("widgetpro") are kept apart because there are as many of them as strings.
        self._by_len = self._buckets(self._word(w) for w in fuzzy_words if not w.isdigit())
        # Run-together names are many (one per string): bucket them by first letter as well.
        self._compact_by_len: dict[tuple[str, int], list[str]] = {}
        for w in sorted(compacts - fuzzy_words):
            self._compact_by_len.setdefault((w[0], len(w)), []).append(self._word(w))
        self._postings_cache: dict[str, tuple[int, list[tuple[int, int, float]]]] = {}
        self._search_cache: dict[tuple[str, int, int], tuple[Match, ...]] = {}
        self._forms: dict[int, tuple[str, list[str], str, int]] = {}
        self._typo_windows: dict[tuple[str, int, int], list[list[str]]] = {}

    def _find(self, word: str) -> int:
        """The word's place in the vocabulary, or -1."""
        i = bisect.bisect_left(self._vocab, word)
        return i if i < len(self._vocab) and self._vocab[i] == word else -1

    def with_words(self, query: str) -> int:
        """How many products have a string holding every word of `query` (normalized) as it
        is: the search's prefilter keeps the strongest candidates, so it cannot count them."""
        owners: set[int] | None = None
        for word in set(query.split()):
            at = self._find(word)
            if at < 0:
                return 0
            found = {self._owner[sid] for sid in self._ids[self._starts[at] : self._starts[at + 1]]}
            owners = found if owners is None else owners & found
        return len(owners or ())

    def _word(self, word: str) -> str:
        """The vocabulary's own object for `word` (equal strings are not stored twice)."""
        return self._vocab[self._find(word)]

    def _exact_id(self, q: str, compact: str) -> int | None:
        """The first string whose normalized form is `q`, else the first whose compact form
        is `compact` (a name typed as one word, or spaced where the catalog runs it on)."""
        i = self._find(compact)
        first = self._exact[i] if i >= 0 else -1
        if first < 0:
            return None
        if " " not in q or self._scored_form(first)[0] == q:
            return first
        return self._spaced.get(q, first)

    def knows(self, word: str) -> bool:
        """Does `word` (normalized) stand for any catalog word — itself, a prefix, a typo?"""
        return bool(self._postings(word)[1])

    def forget(self) -> None:
        """Drop every memoised result (a benchmark measures new questions, not repeats)."""
        self._postings_cache.clear()
        self._search_cache.clear()
        self._forms.clear()

    @staticmethod
    def _buckets(words: Iterable[str]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for w in sorted(words):
            out.setdefault(len(w), []).append(w)
        return out

    def __len__(self) -> int:
        return len(self._display)

    def _similar_words(self, word: str) -> list[tuple[int, float]]:
        """Vocabulary words (by place) this query word may stand for, with a similarity 0..1
        (not memoised itself: _postings keeps what the search needs of it)."""
        out: dict[int, float] = {}
        vocab = self._vocab
        i = bisect.bisect_left(vocab, word)
        if i < len(vocab) and vocab[i] == word:
            out[i] = 1.0
        size = len(word)
        if size >= 3:
            # A prefix stands for the whole word ("ent" -> "enterprise"), slightly discounted.
            while i < len(vocab) and vocab[i].startswith(word):
                out.setdefault(i, 0.75 + 0.2 * size / len(vocab[i]))
                i += 1
                if len(out) > 64:
                    break
            if not word.isdigit():
                # Typos: 'synk' ~ 'sync', 'moniter' ~ 'monitor', 'sheild' ~ 'shield' (OSA
                # distance counts a swap of two letters as one edit).
                max_edits = 1 if size < 6 else 2
                for group in self._typo_groups(word, max_edits):
                    for v, edits, _i in process.extract(
                        word, group, scorer=OSA.distance, score_cutoff=max_edits, limit=None
                    ):
                        at = self._find(v)
                        if at not in out:
                            out[at] = 1.0 - 0.5 * edits / size
        if len(out) < 2:
            return list(out.items())
        return sorted(out.items(), key=_SIMILARITY, reverse=True)[:32]  # stable: ties in order

    def _postings(self, word: str) -> tuple[int, list[tuple[int, int, float]]]:
        """What a query word adds to the prefilter, memoised per word: the fewest strings
        any of its similar words is in (rare words are visited first), and for each similar
        word where its string ids are in _ids and the weight (idf x similarity) they get."""
        hit = self._postings_cache.get(word)
        if hit is None:
            starts, n = self._starts, self._n
            entries = []
            fewest = 0
            for at, sim in self._similar_words(word):
                start, end = starts[at], starts[at + 1]
                entries.append((start, end, math.log(1 + n / (end - start)) * sim))  # idf
                if not fewest or end - start < fewest:
                    fewest = end - start
            hit = (fewest, entries)
            if len(self._postings_cache) > CACHE_ENTRIES:
                self._postings_cache.clear()
            self._postings_cache[word] = hit
        return hit

    def _typo_groups(self, word: str, max_edits: int) -> list[list[str]]:
        """The vocabulary words a misspelt `word` is compared with: those within
        `max_edits` letters of its length (and, from 8 letters, run-together names with its
        first letter). Each comparison call has a fixed cost, so a small vocabulary's
        per-length lists are joined into one (built once per length); a large one's are
        long enough to be compared one by one. The hits rank the same either way: by edits,
        then (as the lists are laid out) by length, then alphabetically."""
        small = len(self._vocab) <= SMALL_VOCABULARY
        key = (word[0] if len(word) >= 8 else "", len(word), max_edits)
        hit = self._typo_windows.get(key) if small else None
        if hit is not None:
            return hit
        lengths = range(len(word) - max_edits, len(word) + max_edits + 1)
        groups = [b for n in lengths if (b := self._by_len.get(n))]
        compacts: list[list[str]] = []
        if len(word) >= 8:  # perhaps a name typed as one word: "ledgersynk"
            compacts = [b for n in lengths if (b := self._compact_by_len.get((word[0], n)))]
        if not small:
            return groups + compacts
        hit = [joined for part in (groups, compacts) if (joined := [w for b in part for w in b])]
        self._typo_windows[key] = hit
        return hit

    def search(
        self,
        query: str,
        *,
        limit: int = SEARCH_LIMIT,
        candidates: int = 40,
        normalized: bool = False,
    ) -> list[Match]:
        """Best products for `query`, best first, at most one Match per product.
        normalized: `query` is already in normalize()'s form (parse_query's product text)."""
        q = query if normalized else normalize(query)
        return list(self.matches(q, limit, candidates)) if q else []

    def matches(self, q: str, limit: int = SEARCH_LIMIT, candidates: int = 40) -> tuple[Match, ...]:
        """search() of a query in normalize()'s form, as the memoised tuple itself."""
        key = (q, limit, candidates)
        hit = self._search_cache.get(key)
        if hit is None:
            hit = tuple(self._search(q, limit, candidates)) if q else ()
            if len(self._search_cache) > CACHE_ENTRIES:
                self._search_cache.clear()
            self._search_cache[key] = hit
        return hit

    def _scored_form(self, sid: int) -> tuple[str, list[str], str, int]:
        """A candidate's normalized form, its words, its compact form and how many letters
        its words have; memoised for the strings that keep coming up as candidates (not
        stored for every string)."""
        hit = self._forms.get(sid)
        if hit is None:
            s = normalize(self._display[sid])
            compact = s.replace(" ", "")
            hit = (s, s.split(), compact, len(compact))
            if len(self._forms) > CACHE_ENTRIES:
                self._forms.clear()
            self._forms[sid] = hit
        return hit

    def _search(self, q: str, limit: int, candidates: int) -> list[Match]:
        words = q.split()
        compact = q.replace(" ", "")
        exact_sid = self._exact_id(q, compact)
        # Prefilter: accumulate idf-weighted word similarities per catalog string.
        acc: dict[int, float] = {}
        query_words = {*words}
        if len(words) > 1:
            query_words.add(compact)
        budget = 60000  # postings visited; common words are visited last and may be cut
        all_ids = self._ids
        for _fewest, entries in sorted(map(self._postings, query_words), key=_FEWEST):
            if len(entries) == 1:
                # One similar word (most words): each of its strings once, no maximum to keep.
                if budget <= 0 and acc:
                    continue
                start, end, weight = entries[0]
                budget -= end - start
                for sid in all_ids[start:end]:
                    acc[sid] = acc.get(sid, 0.0) + weight
                continue
            best_for_string: dict[int, float] = {}
            for start, end, weight in entries:
                if budget <= 0 and acc:
                    break
                budget -= end - start
                for sid in all_ids[start:end]:
                    if best_for_string.get(sid, 0.0) < weight:
                        best_for_string[sid] = weight
            for sid, weight in best_for_string.items():
                acc[sid] = acc.get(sid, 0.0) + weight
        pool = heapq.nlargest(candidates, acc, key=acc.__getitem__)
        if pool:
            # Strings sharing far less with the query than the best one cannot win: do not
            # pay the full scorer for them.
            floor = acc[pool[0]] * PREFILTER_KEEP
            pool = [sid for sid in pool if acc[sid] >= floor]
        if exact_sid is not None and exact_sid not in pool:
            pool.append(exact_sid)
        best: dict[int, tuple[float, int, bool]] = {}  # owner -> its best (score, sid, exact)
        letters = sum(map(len, words))
        forms, owners, wratio = self._forms, self._owner, fuzz.WRatio
        for sid in pool:
            s, s_words, s_compact, s_letters = forms.get(sid) or self._scored_form(sid)
            if sid == exact_sid or s == q or s_compact == compact:
                got = (100.0, sid, True)
            else:
                # WRatio judges the whole string; word_score that every word asked for is there.
                score = (wratio(q, s) + _word_score(words, letters, s_words, s_letters)) / 2
                got = (score, sid, False)
            owner = owners[sid]
            cur = best.get(owner)
            if cur is None or got[0] > cur[0]:
                best[owner] = got
        display = self._display
        ranked = sorted(best.items(), key=_ranked)[:limit]
        return [Match(o, score, display[sid], exact) for o, (score, sid, exact) in ranked]


def _ranked(item: tuple[int, tuple[float, int, bool]]) -> tuple[float, int]:
    """Best score first, then the caller's key (catalog order)."""
    return (-item[1][0], item[0])


_FEWEST = operator.itemgetter(0)  # a word's postings: the fewest strings first
_SIMILARITY = operator.itemgetter(1)  # (place, similarity)


def _post(postings: dict[str, int | list[int]], word: str, sid: int) -> None:
    """Add `sid` to the word's ids: most words (SKU numbers, run-together names) only ever
    have one, and a bare int costs far less than a list while the index is built."""
    ids = postings.get(word)
    if ids is None:
        postings[word] = sid
    elif isinstance(ids, int):
        postings[word] = [ids, sid]
    else:
        ids.append(sid)


# --------------------------------------------------------------------------- regions


# A span not looked up yet (None: looked up, names no market); compared by identity.
_UNSEEN: tuple[str, float, bool] = ("", -1.0, False)


class RegionHit(NamedTuple):  # a few per question: a tuple is made in a third of the time
    code: str  # the region's code; for a market the catalog lacks, the world's name for it
    start: int  # token span in the query
    end: int
    score: float
    known: bool = True  # False: a real market (bot.markets) the catalog has no region for


# A span's meaning in the memo: (code, score, known).
_Named = tuple[str, float, bool]
# A question's spans of words as a lexicon reads them: (text, first word, words).
Spans = list[tuple[str, int, int]]
SPAN_WORDS = 3  # the longest span read when no label is longer


def spans_of(words: Sequence[str], longest: int = SPAN_WORDS) -> Spans:
    """Every span of 1 to `longest` words, the longest first (each word without spaces)."""
    n = len(words)
    out: Spans = []
    for size in range(min(longest, n), 2, -1):
        out += [(" ".join(words[i : i + size]), i, size) for i in range(n - size + 1)]
    out += [(f"{words[i]} {words[i + 1]}", i, 2) for i in range(n - 1)]
    out += [(words[i], i, 1) for i in range(n)]
    return out


class RegionLexicon:
    """Region codes, names and aliases; codes and short aliases must match exactly.

    With `world`, the world's markets (bot.markets) are known too, exactly as named, so a
    question about a market the catalog lacks is not read as a product word or, worse, as
    a catalog market it resembles ("Austria" is not "Australia"). The catalog's own names
    always win."""

    def __init__(
        self,
        regions: Iterable[tuple[str, Sequence[str]]],
        *,
        world: Iterable[tuple[str, Sequence[str]]] = (),
    ) -> None:
        # Exact names (code, 100.0, known), with and without their spaces: they stay in the
        # span memo below when the spans learnt since are dropped.
        self._named: dict[str, _Named | None] = {}
        self._fuzzy: list[tuple[str, str]] = []  # (normalized label, code), labels >= 4 chars
        # Words in the longest label a typo may stand for: a misspelt name has no more words
        # than the name, so a longer span names nothing unless named exactly.
        self._fuzzy_words = 0
        # Words in the longest label: a name of more words than SPAN_WORDS ("Europe, Middle
        # East and Africa") is found whole, not as the shorter names inside it.
        self.longest = SPAN_WORDS
        for code, labels in regions:
            for label in (code, *labels):
                norm = normalize(label)
                if not norm:
                    continue
                self.longest = max(self.longest, norm.count(" ") + 1)
                self._named.setdefault(norm, (code, 100.0, True))
                self._named.setdefault(norm.replace(" ", ""), (code, 100.0, True))
                if len(norm) >= 4:
                    self._fuzzy.append((norm, code))
                    self._fuzzy_words = max(self._fuzzy_words, norm.count(" ") + 1)
        for shown, labels in world:
            for label in labels:
                norm = normalize(label)
                if norm:
                    self.longest = max(self.longest, norm.count(" ") + 1)
                    self._named.setdefault(norm, (shown, 100.0, False))
                    if " " in norm:
                        self._named.setdefault(norm.replace(" ", ""), (shown, 100.0, False))
        self._reachable_by_len: dict[tuple[int, int], tuple[list[str], list[str]]] = {}
        # Every span looked up, with what it names (code, score) or None: one dictionary
        # look-up per span.
        self._spans = dict(self._named)
        self._spans_max = CACHE_ENTRIES + len(self._named)

    def find(self, words: Sequence[str], spans: Spans | None = None) -> list[RegionHit]:
        """Every span of words (each word without spaces) that names a region, best first.
        `spans`: spans_of(words) at least as long as this lexicon's longest label, when
        another lexicon reads the same words."""
        hits: list[RegionHit] = []
        memo, longest, fuzzy_words = self._spans, self.longest, self._fuzzy_words
        for span, start, size in spans_of(words, longest) if spans is None else spans:
            if size > longest:
                continue  # longer than any name it knows (spans read by a longer lexicon)
            got = memo.get(span, _UNSEEN)
            if got is _UNSEEN:
                if size > fuzzy_words:
                    continue
                got = self._learn(span, size)
            if got is not None:
                hits.append(RegionHit(got[0], start, start + size, got[1], got[2]))
        return hits

    def _learn(self, span: str, words: int) -> _Named | None:
        """What a span of `words` words seen for the first time names: a misspelt market,
        or nothing. Runs for most spans of most questions (a typo is new every time), so
        it calls nothing it need not: a span whose length no label can reach costs no
        comparison call."""
        got: _Named | None = None
        n = len(span)
        if n >= 5:
            reach = self._reachable_by_len.get((n, words))
            labels, codes = reach if reach is not None else self._reachable(n, words)
            if labels:
                best = process.extractOne(
                    span, labels, scorer=fuzz.ratio, score_cutoff=REGION_CUTOFF
                )
                if best is not None:
                    got = (codes[best[2]], float(best[1]), True)
        if len(self._spans) > self._spans_max:
            self._spans = dict(self._named)
        self._spans[span] = got
        return got

    def forget(self) -> None:
        """Drop memoised look-ups (see ProductIndex.forget)."""
        self._spans = dict(self._named)

    def _reachable(self, n: int, words: int) -> tuple[list[str], list[str]]:
        """The labels a span of n characters and `words` words can reach REGION_CUTOFF
        with, in their own order, and their codes. fuzz.ratio is at most
        200·min(n, L)/(n + L) for lengths n and L, so most labels are out of reach of a
        given span: not comparing them saves most of the look-up (words of a product name
        are checked as markets too)."""
        hit = self._reachable_by_len.get((n, words))
        if hit is None:
            # A misspelt name has no more words than the name: "saml united kingdom" is
            # not a typo of "united kingdom" (it is a product word beside it).
            kept = [
                (label, code)
                for label, code in self._fuzzy
                if 200 * min(n, len(label)) >= REGION_CUTOFF * (n + len(label))
                and label.count(" ") + 1 >= words
            ]
            hit = ([label for label, _ in kept], [code for _, code in kept])
            self._reachable_by_len[(n, words)] = hit
        return hit


# --------------------------------------------------------------------------- query parsing


class ParsedQuery(NamedTuple):  # several made per question: a tuple is made fastest
    region: str | None  # region code
    product_text: str  # what is left once the region and filler words are taken out
    matches: tuple[Match, ...] = ()
    segment: str | None = None  # a customer segment's code, when the question names one
    unknown: str | None = None  # a market the question names that the catalog lacks


def _strip(words: list[str]) -> list[str]:
    return [w for w in words if w not in FILLER]


# A reading that takes a segment word out of the product text is preferred by this much
# (as a market's is by 3): "widget pro banks" asks about Widget Pro, for banks.
SEGMENT_BONUS = 2.0


def parse_query(
    text: str,
    regions: RegionLexicon,
    products: ProductIndex,
    segments: RegionLexicon | None = None,
) -> ParsedQuery:
    """Find the region (and the customer segment, if `segments` are given) wherever they
    stand in the text, and the products the rest names."""
    words = tokens_of(text)
    longest = regions.longest if segments is None else max(regions.longest, segments.longest)
    spans = spans_of(words, longest)  # read by both lexicons
    best, key = _parse_words(words, regions, products, spans)
    if segments is None:
        return best
    for h in sorted(segments.find(words, spans), key=lambda h: (h.start - h.end, -h.score))[:2]:
        start = h.start - 1 if h.start > 0 and words[h.start - 1] in CONNECTORS else h.start
        got, got_key = _parse_words(words[:start] + words[h.end :], regions, products)
        if not (got.product_text or got.region or got.unknown):
            continue  # the segment word was all there was: not a segment question
        if got_key[0] + SEGMENT_BONUS > key[0]:
            # A kind of customer the catalog names no segment for: no rule is about it,
            # so the general answer is the answer (its word is neither market nor product).
            code = h.code if h.known else None
            best = ParsedQuery(got.region, got.product_text, got.matches, code, got.unknown)
            key = (got_key[0] + SEGMENT_BONUS, got_key[1])
    return best


def _parse_words(
    words: list[str], regions: RegionLexicon, products: ProductIndex, spans: Spans | None = None
) -> tuple[ParsedQuery, tuple[float, int]]:
    """The best reading of the words, and how good it is (for comparing readings)."""
    hits = regions.find(words, spans)

    def edge_rank(h: RegionHit) -> tuple[int, int, int, float]:
        before = words[h.start - 1] if h.start > 0 else None
        at_edge = h.start == 0 or h.end == len(words) or before in CONNECTORS
        # "can we sell…": a filler word is a market (Canada) only as a last resort.
        filler = h.end - h.start == 1 and words[h.start] in FILLER
        return (int(filler), 0 if at_edge else 1, -(h.end - h.start), -h.score)

    options: list[tuple[RegionHit | None, list[str]]] = []
    # A reading whose market is named exactly by words no product name shares: the whole
    # text, market words included, cannot name a product better (those words only add
    # misses), so once that reading finds a product the text is not searched as a whole.
    clear_market: set[int] = set()
    for h in sorted(hits, key=edge_rank)[:4]:
        # A connector word ("in", "for") is never itself the market when more follows it.
        if h.end - h.start == 1 and words[h.start] in CONNECTORS and h.end < len(words):
            continue
        rest = words[: h.start] + words[h.end :]
        if h.start > 0 and words[h.start - 1] in CONNECTORS:
            rest = words[: h.start - 1] + words[h.end :]
        if h.score >= 100.0 and not any(products.knows(w) for w in words[h.start : h.end]):
            clear_market.add(len(options))
        options.append((h, [w for w in _strip(rest) if w not in CONNECTORS]))
    options.append((None, _strip(words)))

    best: ParsedQuery | None = None
    best_key: tuple[float, int] | None = None
    found_with_clear_market = False
    for order, (hit, rest) in enumerate(options):
        if hit is None and found_with_clear_market:
            break  # the whole-text reading is the last one
        product_text = " ".join(rest)
        matches = products.matches(product_text) if product_text else ()
        top = matches[0].score if matches else 0.0
        if top < MATCH_THRESHOLD:
            # Not what was asked for in any reading: letters shared by chance ("france" ~
            # "trace") must not outweigh a market named exactly.
            top = 0.0
        # "can we sell ledger sync": a question's first word is a market (Canada's CAN)
        # only when no other reading names anything.
        asking = bool(hit and hit.end == 1 < len(words) and words[0] in FILLER)
        # Prefer reading a market into the text unless that ruins the product match.
        key = (top + (-1.0 if asking else 3.0 if hit is not None else 0.0), -order)
        if not product_text and hit is not None and not asking:
            key = (200.0, -order)  # the whole text is a region: region-only question
        if best_key is None or key > best_key:
            if hit is None:
                best = ParsedQuery(None, product_text, matches)
            elif hit.known:
                best = ParsedQuery(hit.code, product_text, matches)
            else:
                best = ParsedQuery(None, product_text, matches, unknown=hit.code)
            best_key = key
        if order in clear_market and top >= MATCH_THRESHOLD:
            found_with_clear_market = True
        if hit and not asking and (not product_text or (matches and matches[0].exact)):
            break  # a market and an exact product: no other reading can beat it
    assert best is not None and best_key is not None
    return best, best_key


def unexplained(product_text: str, matched: str) -> str:
    """The words of `product_text` that the matched product string does not account for
    (not the same word, a typo of one, or a prefix of one), joined; "" when none. A word
    of the name said again is not explained by it ("china bridge germany china": China
    Bridge, in Germany and China)."""
    words = normalize(matched).split()
    compact = "".join(words)
    ratio = fuzz.ratio
    extra = []
    said: set[str] = set()
    for w in product_text.split():
        if w in said and w in words:
            extra.append(w)
            continue
        said.add(w)
        if w in CONNECTORS or w in FILLER or w in compact:
            continue
        for v in words:
            if v.startswith(w) or ratio(w, v) >= 75:
                break
        else:
            extra.append(w)
    return " ".join(extra)


def pick(matches: Sequence[Match]) -> tuple[list[Match], list[Match]]:
    """Split matches into (chosen, suggestions).

    chosen has one element when one product clearly wins, several when they are about
    equally good (the caller lists them all), none when nothing is good enough.
    """
    if not matches:
        return [], []
    top = matches[0]
    if top.exact:
        return [top], []
    if top.score < MATCH_THRESHOLD:
        return [], [m for m in matches if m.score >= SUGGEST_THRESHOLD][:3]
    close = [m for m in matches if m.score >= top.score - AMBIGUITY_MARGIN]
    return close, []


def rank_similar(target: str, texts: Sequence[str]) -> list[int]:
    """Indexes of `texts`, most similar to `target` first (word-set similarity)."""
    t = normalize(target)
    scores = [fuzz.token_set_ratio(t, normalize(x)) for x in texts]
    return sorted(range(len(texts)), key=lambda i: -scores[i])


FAMILY_BONUS = 40.0
ALTERNATIVE_THRESHOLD = 58.0


def closest_products(
    name: str, text: str, candidates: Sequence[tuple[str, str]], limit: int
) -> list[int]:
    """Indexes of (name, text) candidates that could stand in for a product: same family
    (first word of the name) first, then by words shared in name, traits and summary.
    Candidates that share too little are left out rather than offered as noise."""
    family = normalize(name).split()[:1]
    t = normalize(text)
    scored = []
    for i, (other_name, other_text) in enumerate(candidates):
        score = fuzz.token_set_ratio(t, normalize(other_text))
        if family and normalize(other_name).split()[:1] == family:
            score += FAMILY_BONUS
        if score >= ALTERNATIVE_THRESHOLD:
            scored.append((score, i))
    return [i for _, i in sorted(scored, key=lambda si: -si[0])[:limit]]


TOKEN_CHARS = 64  # longer words are indexed by their first 64 characters


def similarity_tokens(text: str) -> list[str]:
    """The distinct words `similar` and `rank_similar` compare, as the store indexes them
    to find candidates (sorted, so every writer lists them in the same order)."""
    return sorted({w[:TOKEN_CHARS] for w in normalize(text).split()})


def similar(target: str, texts: Sequence[str], threshold: float) -> list[int]:
    """Indexes of `texts` at least `threshold` similar to `target`, most similar first."""
    return [i for i, _ in similar_scores(target, texts, threshold)]


def similar_scores(target: str, texts: Sequence[str], threshold: float) -> list[tuple[int, float]]:
    """(index, score) of `texts` at least `threshold` similar to `target`, most similar
    first (ties in the order given)."""
    t = normalize(target)
    scores = [fuzz.token_set_ratio(t, normalize(x)) for x in texts]
    keep = [(i, s) for i, s in enumerate(scores) if s >= threshold]
    return sorted(keep, key=lambda kept: -kept[1])
