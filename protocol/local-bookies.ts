import type { Request, Response } from './types';

/**
 * Bookies a client can reach inside this process without a socket: BookKeeper's LocalBookiesRegistry and local
 * transport. A bookie started with `enableLocalTransport` registers the handler of its v3 requests under its
 * bookie id; a client in the same process then hands that bookie decoded v3 Requests and gets its Response
 * objects back, with no TCP, no framing and no response encoding between them. Everything else (what the
 * messages mean, statuses, timeouts, the bookie's own limits) is the v3 protocol as over TCP.
 */
export interface LocalBookieEndpoint {
  /** Answers `request` exactly once through `respond`; `signal` aborts a long poll when the client goes. */
  process(request: Request, respond: (response: Response) => void, signal: AbortSignal | undefined): void;
}

const endpoints = new Map<string, LocalBookieEndpoint>();

export const localBookies = {
  register(bookieId: string, endpoint: LocalBookieEndpoint): void {
    endpoints.set(bookieId, endpoint);
  },
  /** Removes the bookie's endpoint if it is still `endpoint` (a newer registration under the id stays). */
  unregister(bookieId: string, endpoint: LocalBookieEndpoint): void {
    if (endpoints.get(bookieId) === endpoint) endpoints.delete(bookieId);
  },
  get(bookieId: string): LocalBookieEndpoint | undefined {
    return endpoints.get(bookieId);
  },
};
