"""`apf demo`: the whole system on one machine, on its embedded defaults."""
