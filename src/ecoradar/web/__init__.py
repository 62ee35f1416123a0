"""ecoradar.web stage."""
