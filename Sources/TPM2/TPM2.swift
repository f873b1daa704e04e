/// TPM2: placeholder until its first sources land.
