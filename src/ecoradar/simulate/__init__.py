"""ecoradar.simulate stage."""
