"""ecoradar.detect stage."""
