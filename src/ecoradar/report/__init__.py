"""ecoradar.report stage."""
