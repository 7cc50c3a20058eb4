"""Filament densities by material type, and filament length ↔ volume ↔ mass."""

from __future__ import annotations

import math

# Typical densities in g/cm³ as printed on vendor datasheets for unfilled filament (not
# one vendor's figures; blends and fillers differ by a few per cent). Used only when the
# slicer states no mass and the caller gives no density.
DENSITY_G_CM3: dict[str, float] = {
    "PLA": 1.24,
    "PETG": 1.27,
    "ABS": 1.04,
    "ASA": 1.07,
    "TPU": 1.21,
    "PA": 1.14,
    "NYLON": 1.14,
    "PC": 1.20,
}


def density_for(filament_type: str | None) -> float | None:
    """The typical density of a material type ("PLA", "petg", "PLA+"), or None if unknown."""
    if not filament_type:
        return None
    key = filament_type.strip().upper()
    if key in DENSITY_G_CM3:
        return DENSITY_G_CM3[key]
    # Common spellings: "PLA+", "PETG-CF", "PA12", "PA-CF", "TPU 95A"; but not "PCTG",
    # which is a different polymer than PC.
    for name in sorted(DENSITY_G_CM3, key=len, reverse=True):
        if key.startswith(name) and not key[len(name) : len(name) + 1].isalpha():
            return DENSITY_G_CM3[name]
    return None


def length_to_cm3(length_mm: float, diameter_mm: float) -> float:
    """Volume of `length_mm` of round filament of `diameter_mm`, in cm³."""
    radius_mm = diameter_mm / 2.0
    return math.pi * radius_mm * radius_mm * length_mm / 1000.0
