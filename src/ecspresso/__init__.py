"""ecspresso-py: deploy to Amazon ECS (a Python port of kayac/ecspresso)."""

__version__ = "0.1.0"
#: the ecspresso release whose behaviour this port follows (``version``, ``required_version``)
ECSPRESSO_COMPAT_VERSION = "2.8.7"
