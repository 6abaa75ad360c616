"""A fake Meilisearch that speaks the documented HTTP API, for machines that cannot run one.

It covers what the search adapter uses: indexes, settings, documents, search, tasks and
master-key auth, with the real wire format (summarized and full task objects, error objects
`{message, code, type, link}`, asynchronous tasks, `_formatted` hits). Search follows the
engine's observable rules: charabia's separators, case and accent folding, a prefix on the
last query word, typo tolerance (1 typo from 5 letters, 2 from 9, a typo on the first letter
costs two), the `last` matching strategy, the filter grammar and milli's crop window.
Parameters Meilisearch knows but the fake does not implement answer 501, so a test cannot
pass here by accident and fail against the real server.
"""

from tests.fakes.meilisearch.server import FakeMeilisearch

__all__ = ["FakeMeilisearch"]
