"""The registry: actors, their keys and roles, mine sites and miners."""
