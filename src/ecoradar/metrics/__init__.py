"""ecoradar.metrics stage."""
