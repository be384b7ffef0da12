"""Usage per credential: calls per day by endpoint and outcome, and the addresses they came from.

Counted in the request's one Redis round trip (accessgov.api.limits folds `counting.Hit` into its
scripts), rolled up into the database by `manage.py rollup_usage`, read by the console and by
GET /api/v1/Usage (`reading`). The embedded default counts in process memory and writes the
counts to the database when they are read, every ACCESSGOV_USAGE_FLUSH_SECONDS, and at exit.
"""
