"""One run, end to end: plan, crawl, guard, sync, and the locks and signals around them."""
