/// VirtualTPM: placeholder until its first sources land.
