"""Correspondence dispatch service: the Flask side (HTTP edge and the domain it calls)."""
