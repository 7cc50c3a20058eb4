"""Printer drivers: one class per way of reaching a printer, all behind `Driver`."""
