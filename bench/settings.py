"""Benchmark-only settings: accessgov's own, with the URLconf of bench/urls.py (the product's URLs
plus bare JSON views that the benchmarks use as baselines). Nothing here ships: the product never
names this module; the benchmarks start gunicorn with DJANGO_SETTINGS_MODULE=bench.settings and
the repository root on PYTHONPATH.
"""

from accessgov.settings import *  # noqa: F403 - every product setting, unchanged but one

ROOT_URLCONF = "bench.urls"
