"""ecoradar.impact stage."""
