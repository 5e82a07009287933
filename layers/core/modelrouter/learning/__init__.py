"""Learning from live traffic: the implicit outcome of each request, its reward (feedback when given),
the learning-state items bandits read, and outcomes exported from provenance."""
