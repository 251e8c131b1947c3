import type { RegistrationClient } from '../../metadata';
import { eventually } from './ledger-fixtures';

/** Waits until `bookieId` is registered under bookies/writable or bookies/readonly, and not under the other. */
export async function registeredAs(
  registrations: RegistrationClient,
  bookieId: string,
  as: 'writable' | 'readOnly',
): Promise<void> {
  await eventually(`${bookieId} to be registered ${as}`, async () => {
    const writable = await registrations.getWritableBookies();
    const readOnly = await registrations.getReadOnlyBookies();
    const [seen, other] = as === 'writable' ? [writable, readOnly] : [readOnly, writable];
    return seen.includes(bookieId) && !other.includes(bookieId) ? true : undefined;
  });
}

/** What the bookie's admin API says: GET /api/v1/bookie/state → readOnly. */
export async function adminSaysReadOnly(httpPort: number): Promise<boolean> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/api/v1/bookie/state`);
  return ((await response.json()) as { readOnly: boolean }).readOnly;
}
