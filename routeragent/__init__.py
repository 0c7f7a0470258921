"""routeragent: keeps a set of FRR routers highly available (VRRP priority, BGP attributes)."""

__version__ = "0.1.0"
