"""Socket-level helpers for the asyncio layer (Linux socket options BGP needs)."""
