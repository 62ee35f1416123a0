"""ecoradar.explain stage."""
