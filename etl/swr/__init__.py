"""The SWR API side: name rules, authentication, the HTTP client and its lists, pages → Arrow."""
