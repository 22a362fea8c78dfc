"""What the client reads from a server at most: bounds against a broken or hostile server,
and the defaults of the config's `crawl.max_page_bytes` and `crawl.max_pages_per_target`."""

from __future__ import annotations

# A page of 1,000 tags is ~0.6 MB, ~4 MB with typical manifests: 64 MiB leaves room for large
# manifest lists while an endless body or a gzip bomb stops long before it hurts.
MAX_PAGE_BYTES = 64 * 2**20
MAX_PAGES = 10_000  # 10 million tags at 1,000 a page: far beyond any real repository
