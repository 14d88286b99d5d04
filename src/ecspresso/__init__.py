"""ecspresso-py: deploy to Amazon ECS (a Python port of kayac/ecspresso)."""

__version__ = "0.1.0"
