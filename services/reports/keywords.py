"""Keywords of ticket texts: jieba for Chinese, plain words for English, minus stop words."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable

import jieba

MAX_KEYWORDS = 8
_WORD = re.compile(r"[a-z][a-z0-9\-]{2,}")
_HAN = re.compile(r"[\u4e00-\u9fff]")
# Function words and helpdesk filler that say nothing about the issue.
_STOP_TEXT = """
的 了 和 是 在 我 我们 你 你们 他 她 它 他们 这 那 这个 那个 一个 有 没有 也 都 就 还 又
很 非常 太 吗 呢 吧 啊 呀 哦 嗯 请 请问 谢谢 感谢 您好 你好 麻烦 希望 问题 一下 什么 怎么
为什么 如何 可以 能否 不能 无法 需要 现在 已经 还是 但是 因为 所以 如果 然后 时候 今天
昨天 目前 一直 总是 经常 之后 之前 以及 或者 而且 并且 进行 出现 发现 反馈 客户 产品 使用
the and for with that this from have has had are was were not but you your our out can
cannot could would should please thanks thank hello when what why how all any some into
onto very too also just still again there their them they its it's
"""
BUILTIN_STOP_WORDS = frozenset(_STOP_TEXT.split())


class KeywordExtractor:
    """A jieba tokenizer of its own, with the admins' user terms and stop words applied."""

    def __init__(self, user_words: Iterable[str] = (), stop_words: Iterable[str] = ()) -> None:
        self._tokenizer = jieba.Tokenizer()
        self._lock = threading.Lock()
        self._added: set[str] = set()
        self._stop = set(BUILTIN_STOP_WORDS)
        self.configure(user_words, stop_words)

    def configure(self, user_words: Iterable[str], stop_words: Iterable[str]) -> None:
        """Add new user terms (jieba keeps them whole) and replace the extra stop words."""
        with self._lock:
            for word in user_words:
                if word not in self._added:
                    self._tokenizer.add_word(word, freq=100_000)
                    self._added.add(word)
            self._stop = set(BUILTIN_STOP_WORDS) | {w.lower() for w in stop_words}

    def keywords(self, *texts: str) -> list[str]:
        """The text's most frequent meaningful terms, most frequent first (ties: first seen)."""
        counts: Counter[str] = Counter()
        for text in texts:
            lowered = text.lower()
            with self._lock:
                tokens = self._tokenizer.lcut(lowered)
            for token in tokens:
                term = token.strip()
                if term in self._stop or len(term) < 2:
                    continue
                if _HAN.search(term) or _WORD.fullmatch(term):
                    counts[term[:64]] += 1
        return [term for term, _ in counts.most_common(MAX_KEYWORDS)]


_default: KeywordExtractor | None = None


def extractor(user_words: Iterable[str] = (), stop_words: Iterable[str] = ()) -> KeywordExtractor:
    """The process-wide extractor, brought up to date with the dictionary rows given."""
    global _default
    if _default is None:
        _default = KeywordExtractor(user_words, stop_words)
    else:
        _default.configure(user_words, stop_words)
    return _default
