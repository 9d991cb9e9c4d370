/**
 * "Some sessions just ended": told by the routes that delete sessions (logout, an admin's
 * revoke, a disabled user, a password reset or change) after their transaction commits, heard
 * by whatever holds a session open beyond one request (the live WebSocket), which then checks
 * its sessions again. Only this process hears it: the live feed also re-checks on its keepalive
 * tick, which covers sessions ended by another node, expiry, and any path that forgot to tell.
 */
export class SessionEndings {
  private readonly listeners = new Set<() => void>();

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(): void {
    for (const listener of this.listeners) listener();
  }
}
