"""This server's limits (nnplay.limits), read from the environment once per process: the sidebar,
a link, Compare's B, a sweep's values and the trainer turns all go by this one object."""

from nnplay.limits import Limits

LIMITS = Limits.from_env()
