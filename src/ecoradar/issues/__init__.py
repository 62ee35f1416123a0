"""ecoradar.issues stage."""
