"""``verify``: pre-flight checks of what a deploy needs (ecspresso's verify.go), as a tree of
OK/NG/SKIP/WARN. core.py is the pure tree, cache and renderers; the other modules are the checks
(AWS at the edges); commands/verify.py runs them."""
