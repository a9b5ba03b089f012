"""Pure console logic: roles, the read-model keys, views. No I/O, no clock."""
