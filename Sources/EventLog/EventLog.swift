/// EventLog: placeholder until its first sources land.
