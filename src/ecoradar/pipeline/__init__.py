"""ecoradar.pipeline stage."""
