"""ecoradar: find, explain and track issues in a short-video content ecosystem."""

__version__ = "0.1.0"
