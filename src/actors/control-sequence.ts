let last = 0;

/**
 * The next number of the process-wide order of control-state records. A circuit stamps each
 * state it persists with one, whether it goes through the ledger's mailbox (group commit) or is
 * written ahead of a cut (LedgerWriter.writeAhead): the writer keeps only the newest per actor,
 * whichever path it came by. Process-wide rather than per actor, so a circuit respawned by a
 * reload never numbers below its predecessor.
 */
export function nextControlSeq(): number {
  return ++last;
}
