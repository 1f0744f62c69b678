"""Stage 5: split an install set into ordered layers."""
