"""``labelyard worker``: the background process (webhook deliveries, exports)."""
