"""Leaked secrets: the public leak intake, GitLab's token revocation API, and "whose key is this?"
(floor 3½: it finds and stops every kind of credential, so it sits above their owners)."""
