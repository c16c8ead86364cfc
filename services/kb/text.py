"""Search tokens (jieba for Chinese, words for Latin script) and sanitized Markdown HTML.

Why jieba + Postgres full-text rather than pg_trgm: Chinese has no spaces, so the built-in
parsers see a sentence as one word; trigrams on 2-character Chinese words match poorly and
rank by character overlap. Segmenting with jieba at write time and indexing the tokens with
the `simple` configuration gives word-level matches, a GIN index and ts_rank weighting
(title over body) for both languages, with no database extension to install.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

import jieba
import nh3
from markdown_it import MarkdownIt

jieba.setLogLevel(logging.WARNING)
_WORD = re.compile(r"^\w+$")
_STOP_ZH = "的 了 是 在 和 与 或 及 就 都 而 也 被 把 我 你 他 她 它 们 这 那 有 没 不 吗 呢 啊"
_STOP_EN = "a an the and or not of to in on for is are was be it this that with as by at"
STOPWORDS = frozenset(f"{_STOP_ZH} {_STOP_EN}".split())  # noqa: SIM905
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td", "img",
}  # fmt: skip


@lru_cache(maxsize=4096)
def _cut(text: str) -> tuple[str, ...]:
    return tuple(jieba.cut_for_search(text))


def tokens(text: str) -> list[str]:
    """Lower-case search tokens of a text, stop words and punctuation dropped."""
    out = []
    for raw in _cut(text):
        token = raw.strip().lower()
        if token and _WORD.match(token) and token not in STOPWORDS:
            out.append(token)
    return out


def token_text(text: str) -> str:
    return " ".join(tokens(text))


def query_tokens(q: str, limit: int = 16) -> list[str]:
    """Words of a query: jieba's precise cut, single characters dropped when longer words exist.

    Documents are indexed in search mode (a long word and its parts), so the precise words
    of a query find them; single characters (开, 到, 不) would match most of the corpus.
    """
    words = []
    for raw in jieba.cut(q[:500]):
        token = raw.strip().lower()
        if token and _WORD.match(token) and token not in STOPWORDS:
            words.append(token)
    longer = [w for w in words if len(w) > 1]
    return list(dict.fromkeys(longer or words))[:limit]


def query_text(q: str) -> str:
    """A websearch_to_tsquery input matching any of the query's words (ranked by ts_rank)."""
    return " or ".join(query_tokens(q))


def render_markdown(body: str) -> str:
    """Markdown to HTML with scripts, handlers and unsafe URLs removed (nh3)."""
    html = _markdown.render(body)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}, "img": {"src", "alt", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
