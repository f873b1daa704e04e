/// SEVSNP: placeholder until its first sources land.
