from ._folders import folder  # noqa: F401  (fixture)
