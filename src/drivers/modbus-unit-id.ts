/**
 * A Modbus meter's gateway-local address is its unit id as a canonical decimal string
 * ("1".."247"): readings carry it back unchanged, so it must match the actor's key.
 * 0 is broadcast (never answered) and 248..255 are reserved.
 */
export function parseUnitId(unitAddress: string): number | undefined {
  if (!/^[1-9]\d{0,2}$/.test(unitAddress)) return undefined;
  const id = Number(unitAddress);
  return id <= 247 ? id : undefined;
}
