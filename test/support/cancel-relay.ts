/**
 * A TCP relay to the test database that holds back CancelRequests: a cancel
 * the gateway sends upstream reaches the server only when the test lets it,
 * as one slowed by a busy network or postmaster would, late. Everything else
 * passes at once.
 */
import { createServer, connect as tcpConnect, type AddressInfo, type Socket } from 'node:net';

/** The request code of a CancelRequest (protocol §55.2.8): 1234 << 16 | 5678. */
const CANCEL_CODE = 80877102;
const SSL_CODE = 80877103;

export interface CancelRelay {
  /** The target's URL, through the relay. */
  readonly url: string;
  /** CancelRequests that reached the relay so far (held or let through). */
  cancels(): number;
  /** Lets every held CancelRequest through, and those to come. */
  release(): void;
  /** Holds the CancelRequests to come again. */
  hold(): void;
  close(): Promise<void>;
}

export async function cancelRelay(target: string): Promise<CancelRelay> {
  const to = new URL(target);
  const sockets = new Set<Socket>();
  const held: (() => void)[] = [];
  let holding = true;
  let cancels = 0;
  // Half-open: a client that sent its CancelRequest and ended its side is answered by the server's close, not the relay's.
  const server = createServer({ allowHalfOpen: true }, (inbound) => {
    sockets.add(inbound);
    inbound.on('error', () => {});
    inbound.once('close', () => sockets.delete(inbound));
    const opening = (first: Buffer): void => {
      inbound.pause();
      // SSLRequest (a cancel goes encrypted as its session did): no TLS here, and the next packet is the one to look at.
      if (first.length === 8 && first.readInt32BE(4) === SSL_CODE) {
        inbound.write('N');
        inbound.once('data', opening);
        inbound.resume();
        return;
      }
      const pass = () => {
        const outbound = tcpConnect(Number(to.port || 5432), to.hostname);
        sockets.add(outbound);
        outbound.on('error', () => inbound.destroy());
        outbound.once('close', () => (sockets.delete(outbound), inbound.destroy()));
        inbound.on('close', () => outbound.destroy());
        outbound.write(first);
        inbound.pipe(outbound);
        outbound.pipe(inbound);
        inbound.resume();
      };
      const isCancel = first.length >= 8 && first.readInt32BE(0) === 16 && first.readInt32BE(4) === CANCEL_CODE;
      if (isCancel) cancels++;
      if (isCancel && holding) held.push(pass);
      else pass();
    };
    inbound.once('data', opening);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const url = new URL(target);
  url.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: url.toString(),
    cancels: () => cancels,
    release: () => {
      holding = false;
      for (const pass of held.splice(0)) pass();
    },
    hold: () => void (holding = true),
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((res) => server.close(() => res()));
    },
  };
}
