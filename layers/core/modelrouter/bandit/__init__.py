"""Bandit routes at run time: the segment of a request, the posteriors read from the learning state,
Thompson sampling's choice distribution with its exploration bounds, and the per-container cache of the
learning state (:mod:`modelrouter.bandit.store`, the only module here that does I/O)."""
